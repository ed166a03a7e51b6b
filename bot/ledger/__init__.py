"""The usage ledger in SQLite: requests and quota, user settings, pending images.

    async with open_ledger(path) as ledger:
        ledger.requests     one row per request; the single-statement quota reservation
        ledger.users        what admins set per user (limits, bans)
        ledger.pending      images waiting for their instruction

The three parts share one aiosqlite connection (autocommit, WAL journal) and read rows by
column name. The schema is upgraded by the numbered migrations in `migrations`.
"""

from bot.ledger.database import Ledger, open_ledger

__all__ = ["Ledger", "open_ledger"]

"""The usage ledger in SQLite: one connection, its parts, numbered migrations.

    async with open_ledger(path) as ledger:
        ledger.requests     one row per request, settled once
        ledger.spending     the single-statement reservation of units, credits, group
                            images and budget, and the figures a refusal is explained by
        ledger.users        what admins set per user (limits, bans), admins' languages
        ledger.chats        what admins set per group (its daily image limit)
        ledger.pending      images waiting for their instruction
        ledger.moves        groups that became supergroups
        ledger.payments     Telegram Stars payments, credited once per charge id

The parts share one aiosqlite connection (autocommit, WAL journal) and read rows by column
name. The schema is upgraded by the numbered migrations in `migrations`.
"""

from bot.ledger.database import Ledger, open_ledger

__all__ = ["Ledger", "open_ledger"]

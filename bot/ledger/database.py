"""Opening the ledger: one connection, its pragmas and migrations, and the parts that use it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.ledger.chats import ChatStore
from bot.ledger.migrations import migrate
from bot.ledger.moves import ChatMoveStore
from bot.ledger.payments import PaymentStore
from bot.ledger.pending import PendingStore
from bot.ledger.requests import RequestLog
from bot.ledger.spending import Spending
from bot.ledger.users import UserStore


@dataclass(frozen=True, slots=True)
class Ledger:
    """The ledger's parts, sharing one connection."""

    requests: RequestLog
    users: UserStore
    pending: PendingStore
    moves: ChatMoveStore
    spending: Spending
    chats: ChatStore
    payments: PaymentStore


@asynccontextmanager
async def open_ledger(
    path: Path | str, *, migrate_upto: int | None = None
) -> AsyncIterator[Ledger]:
    """The ledger at `path` (folder and file created if needed), migrated, closed after.

    `migrate_upto` stops the schema at an older version (for tests of the migrations).
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(path, isolation_level=None)
    try:
        db.row_factory = aiosqlite.Row
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"):
            await db.execute(f"PRAGMA {pragma}")
        await db.execute("PRAGMA foreign_keys=ON")
        await migrate(db, migrate_upto)
        ledger = Ledger(
            RequestLog(db),
            UserStore(db),
            PendingStore(db),
            ChatMoveStore(db),
            Spending(db),
            ChatStore(db),
            PaymentStore(db),
        )
        if migrate_upto is None:
            await ledger.pending.purge(time.time())
        yield ledger
    finally:
        await db.close()

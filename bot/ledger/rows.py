"""Rows read in one trip to the database's thread.

aiosqlite runs every call in the connection's own thread, and each call is a hand-over
there and back to the event loop. `async with db.execute(sql) as cursor: await
cursor.fetchone()` makes three (execute, fetch, close); these run the statement and read
all it returns in one. For statements that return a few rows: an export streams its rows
through a cursor instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import aiosqlite

Params = Iterable[Any] | Mapping[str, Any]


async def fetch_all(db: aiosqlite.Connection, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
    """Every row `sql` returns."""
    return list(await db.execute_fetchall(sql, params))


async def fetch_one(
    db: aiosqlite.Connection, sql: str, params: Params = ()
) -> aiosqlite.Row | None:
    """The first row `sql` returns, or None (a write's `RETURNING` row, a keyed read)."""
    rows = await db.execute_fetchall(sql, params)
    return next(iter(rows), None)


async def fetch_sums(db: aiosqlite.Connection, sql: str, params: Params = ()) -> aiosqlite.Row:
    """The one row a `SELECT` of sums or counts returns (there always is one)."""
    row = await fetch_one(db, sql, params)
    if row is None:
        raise RuntimeError(f"no row from {sql!r}")
    return row

"""Images waiting for their instruction, per user, chat and topic, with an expiry time.

Plain storage: the rules (how long they wait, when a failure keeps them, one change at a
time per user) are `bot.core.pending`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from bot.domain import Owner
from bot.ledger.rows import fetch_all

_OWNER = "user_id = ? AND chat_id = ? AND thread_id = ?"


def _key(owner: Owner) -> tuple[int, int, int]:
    return owner.user_id, owner.chat_id, owner.thread_id


class PendingStore:
    """The `pending_images` table."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def add(self, owner: Owner, refs: Sequence[str], *, now: float, expires_at: float) -> int:
        """Add images after the owner's unexpired ones, renewing all; how many there are now."""
        key = _key(owner)
        await self._db.execute(
            f"DELETE FROM pending_images WHERE {_OWNER} AND expires_at < ?", (*key, now)
        )
        await self._db.executemany(
            "INSERT INTO pending_images (user_id, chat_id, thread_id, file_id, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(*key, ref, expires_at) for ref in refs],
        )
        renewed = await fetch_all(
            self._db,
            f"UPDATE pending_images SET expires_at = ? WHERE {_OWNER} RETURNING id",
            (expires_at, *key),
        )
        return len(renewed)

    async def peek(self, owner: Owner, now: float) -> tuple[str, ...]:
        """The owner's unexpired images, in the order they came."""
        rows = await fetch_all(
            self._db,
            f"SELECT file_id FROM pending_images WHERE {_OWNER} AND expires_at >= ? ORDER BY id",
            (*_key(owner), now),
        )
        return tuple(str(row["file_id"]) for row in rows)

    async def drop(self, owner: Owner, now: float) -> int:
        """Forget the owner's images; how many of them had not expired."""
        rows = await fetch_all(
            self._db, f"DELETE FROM pending_images WHERE {_OWNER} RETURNING expires_at", _key(owner)
        )
        return sum(row["expires_at"] >= now for row in rows)

    async def deadlines(self) -> dict[int, float]:
        """Each user with images kept, and when the last of them expires (in any chat)."""
        rows = await fetch_all(
            self._db,
            "SELECT user_id, MAX(expires_at) AS until FROM pending_images GROUP BY user_id",
        )
        return {int(row["user_id"]): float(row["until"]) for row in rows}

    async def purge(self, now: float) -> None:
        """Forget every expired image."""
        await self._db.execute("DELETE FROM pending_images WHERE expires_at < ?", (now,))

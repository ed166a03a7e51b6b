"""What admins set per group chat: its own daily image limit (a number, or unlimited)."""

from __future__ import annotations

import aiosqlite

from bot.ledger.requests import utc_now
from bot.ledger.rows import fetch_one


class ChatStore:
    """The `chats` table."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def limit(self, chat_id: int, default: int | None) -> int | None:
        """The group's daily image limit: its own if an admin set one, else `default`;
        None means unlimited."""
        row = await fetch_one(
            self._db, "SELECT quota_limit, quota_unlimited FROM chats WHERE chat_id = ?", (chat_id,)
        )
        if row is None:
            return default
        if row["quota_unlimited"]:
            return None
        return default if row["quota_limit"] is None else int(row["quota_limit"])

    async def set_limit(self, chat_id: int, limit: int | None) -> None:
        """Give the group its own daily image limit; None means unlimited."""
        await self._db.execute(
            "INSERT INTO chats (chat_id, quota_limit, quota_unlimited, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET "
            "quota_limit = excluded.quota_limit, quota_unlimited = excluded.quota_unlimited, "
            "updated_at = excluded.updated_at",
            (chat_id, limit, int(limit is None), utc_now()),
        )

"""What admins set per user (an own daily limit, a number or unlimited, and bans), and the
language admins write in, for their alerts."""

from __future__ import annotations

import aiosqlite

from bot.domain import UserSettings
from bot.ledger.requests import utc_now
from bot.ledger.rows import fetch_all, fetch_one


class UserStore:
    """The `users` table; a user without a row has the defaults."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def get(self, user_id: int) -> UserSettings:
        """The user's settings (defaults if none were set)."""
        row = await fetch_one(
            self._db,
            "SELECT quota_limit, quota_unlimited, banned FROM users WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return UserSettings()
        return UserSettings(row["quota_limit"], bool(row["quota_unlimited"]), bool(row["banned"]))

    async def banned(self) -> set[int]:
        """The users who are banned."""
        rows = await fetch_all(self._db, "SELECT user_id FROM users WHERE banned")
        return {int(row["user_id"]) for row in rows}

    async def set_quota(self, user_id: int, limit: int | None) -> None:
        """Give the user their own daily limit; None means unlimited."""
        await self._upsert(user_id, quota_limit=limit, quota_unlimited=int(limit is None))

    async def language(self, user_id: int) -> str | None:
        """The language the user last wrote to the bot in, if it was remembered."""
        row = await fetch_one(self._db, "SELECT language FROM users WHERE user_id = ?", (user_id,))
        return row["language"] if row else None

    async def remember_language(self, user_id: int, language: str) -> None:
        """Keep the user's language (admins: for their alerts)."""
        await self._db.execute(
            "INSERT INTO users (user_id, language, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET language = excluded.language",
            (user_id, language, utc_now()),
        )

    async def set_banned(self, user_id: int, banned: bool) -> None:
        """Ban or unban the user."""
        await self._upsert(user_id, banned=int(banned))

    async def _upsert(self, user_id: int, **fields: int | None) -> None:
        names = ", ".join(fields)
        updates = ", ".join(f"{name} = excluded.{name}" for name in fields)
        await self._db.execute(
            f"INSERT INTO users (user_id, {names}, updated_at) "
            f"VALUES (?, {', '.join('?' * len(fields))}, ?) "
            f"ON CONFLICT (user_id) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
            (user_id, *fields.values(), utc_now()),
        )

"""Groups that became supergroups: the `chat_moves` table (old id → new id).

Recording a move also carries the old chat's pending images, its own daily limit and the
images it made today (its group quota; older rows keep the id they were made under) over,
in the same transaction.
"""

from __future__ import annotations

import aiosqlite

from bot.ledger.requests import utc_now
from bot.ledger.rows import fetch_all


class ChatMoveStore:
    """The `chat_moves` table."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def all(self) -> dict[int, int]:
        """Every recorded move, old id → new id."""
        rows = await fetch_all(self._db, "SELECT old_id, new_id FROM chat_moves")
        return {int(row["old_id"]): int(row["new_id"]) for row in rows}

    async def record(self, old_id: int, new_id: int) -> None:
        """Remember that `old_id` is now `new_id`, and move its pending images along."""
        old, new, at = int(old_id), int(new_id), utc_now().replace("'", "")
        # One script, run by the connection's thread in one go: no other statement of this
        # process can fall between its BEGIN and COMMIT (ids are integers, so formatting
        # them in is safe).
        try:
            await self._script(old, new, at)
        except BaseException:
            if self._db.in_transaction:
                await self._db.execute("ROLLBACK")
            raise

    async def _script(self, old: int, new: int, at: str) -> None:
        await self._db.executescript(
            f"""
            BEGIN IMMEDIATE;
            INSERT INTO chat_moves (old_id, new_id, moved_at) VALUES ({old}, {new}, '{at}')
                ON CONFLICT (old_id) DO UPDATE SET new_id = excluded.new_id;
            UPDATE chat_moves SET new_id = {new} WHERE new_id = {old};
            UPDATE pending_images SET chat_id = {new} WHERE chat_id = {old};
            UPDATE requests SET chat_id = {new}
                WHERE chat_id = {old} AND group_images > 0 AND status IN ('ok', 'reserved')
                AND quota_day >= date('now', '-1 day');
            INSERT OR IGNORE INTO chats (chat_id, quota_limit, quota_unlimited, updated_at)
                SELECT {new}, quota_limit, quota_unlimited, updated_at
                FROM chats WHERE chat_id = {old};
            COMMIT;
            """
        )

"""Groups that became supergroups: where a chat id leads now, and what it was before.

Telegram gives a basic group a new id when it is upgraded to a supergroup, and refuses
sends to the old one (`migrate_to_chat_id`). Everything on its way to the old id follows
the move at once; settings that name the old id (`ALLOWED_CHAT_IDS`) keep applying; the
operator is told, once, which id to put in the configuration.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.ledger.moves import ChatMoveStore

log = logging.getLogger(__name__)


class ChatMoves:
    """Known moves, old id → new id, loaded at start-up and recorded as they happen."""

    def __init__(self, store: ChatMoveStore, configured: Iterable[int] = ()) -> None:
        self._store = store
        self._moves: dict[int, int] = {}
        self._configured = frozenset(configured)

    async def load(self) -> None:
        """Read the moves recorded by earlier runs."""
        self._moves = await self._store.all()

    def resolve(self, chat_id: int) -> int:
        """The id `chat_id` goes by now."""
        seen = {chat_id}
        while chat_id in self._moves and self._moves[chat_id] not in seen:
            chat_id = self._moves[chat_id]
            seen.add(chat_id)
        return chat_id

    def earlier(self, chat_id: int) -> set[int]:
        """Every id the chat had before (not including `chat_id`)."""
        found: set[int] = set()
        frontier = {chat_id}
        while frontier:
            frontier = {old for old, new in self._moves.items() if new in frontier} - found
            found |= frontier
        return found

    async def record(self, old_id: int, new_id: int) -> None:
        """Remember that `old_id` is now `new_id` (its pending images move along)."""
        if old_id == new_id or self._moves.get(old_id) == new_id:
            return
        self._moves[old_id] = new_id
        await self._store.record(old_id, new_id)
        if old_id in self._configured:
            log.warning(
                "group %d became supergroup %d: put %d in ALLOWED_CHAT_IDS in place of %d",
                old_id,
                new_id,
                new_id,
                old_id,
            )
        else:
            log.info("group %d became supergroup %d", old_id, new_id)

"""Who may use the bot: allow-lists from the settings, bans from the ledger."""

from __future__ import annotations

from bot.config import Settings
from bot.ledger.store import Ledger


class AccessPolicy:
    """Admins always; otherwise not banned and, when lists are set, on one of them."""

    def __init__(self, settings: Settings, ledger: Ledger) -> None:
        self._admins = settings.admin_user_ids
        self._users = settings.allowed_user_ids
        self._chats = settings.allowed_chat_ids
        self._ledger = ledger

    def is_admin(self, user_id: int) -> bool:
        """Whether the user is in `ADMIN_USER_IDS`."""
        return user_id in self._admins

    async def allows(self, user_id: int, chat_id: int) -> bool:
        """Whether this user may make requests in this chat."""
        if user_id in self._admins:
            return True
        listed = not (self._users or self._chats) or user_id in self._users
        if not (listed or chat_id in self._chats):
            return False
        return not (await self._ledger.user_settings(user_id)).banned

"""Operator alerts delivered: one private message per admin, in the admin's language.

An admin who never opened a chat with the bot cannot be written to; that is logged and
the others still get theirs. Sent in the background, so no user's request waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from telegram import Bot

from bot import texts
from bot.core.access import Access
from bot.domain import Destination
from bot.tg.sending import say

log = logging.getLogger(__name__)


class AdminMessages:
    """`bot.core.alerts.AdminNotifier` over Telegram."""

    def __init__(self, bot: Bot, admin_ids: Iterable[int], access: Access) -> None:
        self._bot = bot
        self._admins = tuple(sorted(admin_ids))
        self._access = access
        self._sending: set[asyncio.Task[None]] = set()

    def tell_admins(self, key: str, values: dict[str, object]) -> None:
        """Send the sentence `key` to every admin, in the background."""
        if not self._admins:
            log.warning("no ADMIN_USER_IDS to tell: %s", key)
            return
        task = asyncio.get_running_loop().create_task(self._send(key, values))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def aclose(self) -> None:
        """Give alerts on their way a moment at shutdown, then call them off."""
        if self._sending:
            _, late = await asyncio.wait(set(self._sending), timeout=2.0)
            for task in late:
                task.cancel()

    async def _send(self, key: str, values: dict[str, object]) -> None:
        for admin in self._admins:
            lang = await self._access.admin_language(admin)
            await say(self._bot, Destination(admin), texts.tr(lang, key, **values))

"""Every Bot API call passes here (PTB's rate-limiter extension point): the chat it is for
as that chat is known now, Telegram's per-chat pacing, and results ahead of notices.

- A chat that moved (a group upgraded to a supergroup) is sent to under its new id. When
  Telegram refuses a send with `migrate_to_chat_id` (PTB's `ChatMigrated`), the move is
  recorded (`bot.core.moves`) and the same send goes to the new id at once.
- A send into a forum topic that was deleted or closed meanwhile goes to the chat's General
  topic instead of being lost.
- 429 Too Many Requests holds back that chat only, for `retry_after`; other chats go on
  (PTB's `AIORateLimiter` would pause every chat). While a chat is held, its waiting sends
  leave in priority order, `RESULT` before `NOTICE`, and chat actions and reactions, which
  only say "working on it", are dropped rather than queued.

Priorities travel as PTB's `rate_limit_args` on each send; a send without one is a notice.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import timedelta
from enum import IntEnum
from typing import Any

from telegram.error import BadRequest, ChatMigrated, RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.core.moves import ChatMoves

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Answer = bool | JSONDict | list[JSONDict]
#: Telegram's refusals of a send into a topic that is gone or closed.
TOPIC_GONE = ("message thread not found", "topic_closed", "topic_deleted")
#: Calls that only show activity: dropped while their chat is held.
ACTIVITY = frozenset({"sendChatAction", "setMessageReaction"})
MAX_MOVES = 3


class Priority(IntEnum):
    """Which of a held chat's sends leaves first (lower first)."""

    RESULT = 0
    NOTICE = 1


class SendControl(BaseRateLimiter[int]):
    """Moves, topics that are gone, per-chat holds after 429 with results first."""

    def __init__(self, moves: ChatMoves, max_retries: int = 5) -> None:
        self._moves = moves
        self._max_retries = max_retries
        self._resume_at: dict[object, float] = {}
        self._waiting: dict[object, Counter[int]] = {}
        self._changed = asyncio.Event()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Answer]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Answer:
        """Send (as the module docstring says); `data` is what PTB is about to send."""
        priority = Priority.NOTICE if rate_limit_args is None else rate_limit_args
        retries = moves = 0
        while True:
            self._follow_moves(data)
            chat = data.get("chat_id")
            if endpoint in ACTIVITY and self._held(chat):
                return True
            await self._wait_turn(chat, priority)
            try:
                return await callback(*args, **kwargs)
            except ChatMigrated as exc:
                moves += 1
                if moves > MAX_MOVES or not isinstance(chat, int):
                    raise
                await self._moves.record(chat, exc.new_chat_id)
            except RetryAfter as exc:
                retries += 1
                if not await self._paced(exc, chat, endpoint, retries):
                    raise
            except BadRequest as exc:
                if not _topic_gone(exc) or "message_thread_id" not in data:
                    raise
                topic = data.pop("message_thread_id")
                log.info("topic %s of chat %s is gone (%s): sending to General", topic, chat, exc)

    async def _paced(self, exc: RetryAfter, chat: object, endpoint: str, retries: int) -> bool:
        """Hold the chat Telegram paced; whether to send again (activity never is)."""
        seconds = retry_seconds(exc)
        if chat is not None:  # the whole chat is paced, whatever was refused
            self._hold(chat, seconds + 0.1)
        if retries > self._max_retries or endpoint in ACTIVITY:
            return False
        log.info("flood control on %s for chat %s: waiting %.1fs", endpoint, chat, seconds)
        if chat is None:  # no chat to hold back: only this call waits
            await asyncio.sleep(seconds + 0.1)
        return True

    def _follow_moves(self, data: dict[str, Any]) -> None:
        chat = data.get("chat_id")
        if isinstance(chat, int):
            data["chat_id"] = self._moves.resolve(chat)

    def _held(self, chat: object) -> bool:
        return self._resume_at.get(chat, 0.0) > asyncio.get_running_loop().time()

    def _hold(self, chat: object, seconds: float) -> None:
        now = asyncio.get_running_loop().time()
        for key in [k for k, t in self._resume_at.items() if t < now]:
            del self._resume_at[key]
        self._resume_at[chat] = max(now + seconds, self._resume_at.get(chat, 0.0))

    async def _wait_turn(self, chat: object, priority: int) -> None:
        """Wait while the chat is held, then while a more urgent send of it waits."""
        if chat is None or (not self._held(chat) and not self._waiting.get(chat)):
            return
        waiting = self._waiting.setdefault(chat, Counter())
        waiting[priority] += 1
        loop = asyncio.get_running_loop()
        try:
            while True:
                pause = self._resume_at.get(chat, 0.0) - loop.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                elif any(n for p, n in waiting.items() if p < priority):
                    changed = self._changed
                    await changed.wait()
                else:
                    return
        finally:
            waiting[priority] -= 1
            if not +waiting:
                self._waiting.pop(chat, None)
            self._changed.set()
            self._changed = asyncio.Event()


def _topic_gone(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return any(reason in text for reason in TOPIC_GONE)


def retry_seconds(exc: RetryAfter) -> float:
    """Telegram's `retry_after` in seconds, whichever type PTB gives it as."""
    with warnings.catch_warnings():  # an int today, a timedelta in PTB's next major version
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: object = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(str(value))

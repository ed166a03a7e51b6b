"""Telegram flood control: a 429 holds back the chat that got it, not every chat.

PTB's `AIORateLimiter` pauses all requests while any one of them waits out a 429, so a
single busy group at Telegram's 20-messages-a-minute limit would stall every other
user's delivery. This limiter (PTB's `BaseRateLimiter` extension point) waits out
`retry_after` for that chat only, then sends again.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]


class PerChatFloodControl(BaseRateLimiter[int]):
    """Retries a request that got 429, after `retry_after`, holding back only its chat."""

    def __init__(self, max_retries: int = 5) -> None:
        self._max_retries = max_retries
        self._resume_at: dict[object, float] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Send; on 429 wait the time Telegram asked for (this chat only) and send again."""
        chat = data.get("chat_id")
        loop = asyncio.get_running_loop()
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            wait = self._resume_at.get(chat, 0.0) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                seconds = _seconds(exc)
                log.info("flood control on %s for chat %s: waiting %.1fs", endpoint, chat, seconds)
                self._hold(chat, loop.time() + seconds + 0.1)
        raise AssertionError("unreachable")

    def _hold(self, chat: object, until: float) -> None:
        now = asyncio.get_running_loop().time()
        for key in [k for k, t in self._resume_at.items() if t < now]:
            del self._resume_at[key]
        self._resume_at[chat] = max(until, self._resume_at.get(chat, 0.0))


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # an int today, a timedelta in PTB's next major version
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: object = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(str(value))

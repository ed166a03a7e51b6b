"""Starting against a Telegram that may not be reachable yet (boot before the network, a
proxy not up, DNS down): each start-up call is repeated with backoff, 1 s doubling to 60 s,
one WARNING line per failed try naming the cause, no traceback. A token Telegram rejects is
not retried (PTB's `InvalidToken` goes through); neither is any other refusal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter

from bot.tg.gate import retry_seconds

log = logging.getLogger(__name__)

T = TypeVar("T")
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 60.0


async def until_reachable(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """`await call()`, repeated while Telegram cannot be reached."""
    pause = FIRST_PAUSE
    while True:
        try:
            return await call()
        except (InvalidToken, BadRequest, Forbidden, Conflict):
            raise
        except RetryAfter as exc:
            wait = max(pause, retry_seconds(exc))
            log.warning("Telegram asked to wait before %s; retrying in %.0f s", what, wait)
        except NetworkError as exc:  # includes time-outs, refused connections, 5xx pages
            wait = pause
            log.warning(
                "cannot reach Telegram for %s (%s); retrying in %.0f s", what, cause(exc), wait
            )
        await asyncio.sleep(wait)
        pause = min(pause * 2, LONGEST_PAUSE)


def cause(exc: NetworkError) -> str:
    """The failure in a few words: a proxy's error page is named by its status, not quoted."""
    text = exc.message.split(". Parsing the server response", 1)[0]
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:159] + "…"

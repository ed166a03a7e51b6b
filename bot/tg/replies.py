"""Sending text: one path for every sentence the bot says.

`say()` keeps a message within Telegram's 4096-character limit, retries network errors
(not refusals), quotes the message it answers, and logs rather than raises when the chat
cannot be reached: a failed "you are number 3 in the queue" must not fail the request.
`retrying()` is the retry rule, shared with the delivery of images.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Bot, Message, ReplyParameters
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

log = logging.getLogger(__name__)

T = TypeVar("T")

SEND_ATTEMPTS = 3
#: Telegram's limit is 4096 UTF-16 code units; keep a margin for the ellipsis.
MAX_TEXT = 4000


def refused(exc: NetworkError) -> bool:
    """Telegram refused the request itself (bad photo, too large): resending won't help."""
    return isinstance(exc, BadRequest) or "too large" in exc.message.lower()


async def retrying(send: Callable[[], Awaitable[T]]) -> T:
    """Run `send`, retrying network failures (not refusals) with a short pause."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await send()
        except NetworkError as exc:
            if refused(exc) or attempt == SEND_ATTEMPTS:
                raise
            log.warning("send failed (%s); retrying", exc)
            await asyncio.sleep(attempt * 0.5)
    raise AssertionError("unreachable")


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    """`text` cut to `limit` UTF-16 code units, with an ellipsis when cut."""
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    cut = text.encode("utf-16-le")[: (limit - 1) * 2].decode("utf-16-le", "ignore")
    return cut.rstrip() + "…"


async def say(bot: Bot, chat_id: int, text: str, reply_to: int | None = None) -> Message | None:
    """Send `text` (as a reply to `reply_to`); the message, or None if it could not be sent."""
    reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
    try:
        return await retrying(
            lambda: bot.send_message(chat_id, shorten(text), reply_parameters=reply)
        )
    except Forbidden as exc:
        log.warning("cannot write to chat %d: %s", chat_id, exc.message)
    except TelegramError as exc:
        log.warning("message to chat %d not sent: %s", chat_id, exc)
    return None


async def answer(message: Message, text: str) -> Message | None:
    """Reply to `message`, quoting it, through `say`."""
    return await say(message.get_bot(), message.chat_id, text, message.message_id)

"""Sending to Telegram: the one retry rule, per-chat flood control, and sentences.

The delivery promise. A send that Telegram was merely slow to answer is never repeated, so
a photo whose answer was lost to a time-out cannot arrive twice; a send that failed outright
is repeated:

- 429 Too Many Requests: Telegram refused it for flood control. `bot.tg.gate` (PTB's
  rate-limiter extension point) waits `retry_after` for that chat only, then sends again,
  results ahead of notices; other chats are not held back. A group that became a
  supergroup, or a topic that is gone, is followed there too.
- a connection that failed or broke before any answer (refused, reset, dropped, DNS, a
  connect time-out, no free connection in the pool), or a 5xx answer (Telegram's front could
  not pass the request on): repeated by `retrying`, up to `SEND_ATTEMPTS` in all.
- an answer that did not come in time (a read time-out) is never repeated: Telegram is
  slow rather than deaf, the message usually arrives, and sending it again would post a
  photo twice. For a result this counts as not delivered: the request is not charged.
- a refusal (400 Bad Request, a file too large, 403 blocked) is final.

Reads (`getFile`, downloads) change nothing at Telegram and are retried on any network
failure (`idempotent=True`). `say()` is the path of every sentence: within Telegram's
length limit, as a reply to the message it answers, in its topic, and logged rather than
raised when the chat cannot be reached (a lost "you are number 3 in the queue" must not
fail a job). `to()` gives every send its chat, topic and quote.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut
from telegram.ext import ExtBot

from bot import texts
from bot.domain import Destination
from bot.tg.gate import Priority
from bot.tg.reading import destination_of

log = logging.getLogger(__name__)

T = TypeVar("T")

SEND_ATTEMPTS = 3
#: Time-outs before the request left: connecting, or waiting for a free connection
#: (`bot.tg.requests` raises `TimedOut` from aiohttp's error).
_NOT_SENT = (aiohttp.ConnectionTimeoutError,)


def refused(exc: NetworkError) -> bool:
    """Telegram refused the request itself (bad photo, too large): resending won't help."""
    return isinstance(exc, BadRequest) or "too large" in exc.message.lower()


def may_resend(exc: NetworkError) -> bool:
    """Whether Telegram certainly did not act on the request that failed with `exc`."""
    if refused(exc):
        return False
    return not isinstance(exc, TimedOut) or isinstance(exc.__cause__, _NOT_SENT)


async def retrying(send: Callable[[], Awaitable[T]], *, idempotent: bool = False) -> T:
    """Run `send`, repeating it as the delivery promise allows (see the module docstring)."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await send()
        except NetworkError as exc:
            again = not refused(exc) if idempotent else may_resend(exc)
            if not again or attempt == SEND_ATTEMPTS:
                raise
            log.warning("send failed (%s); retrying", exc)
            await asyncio.sleep(attempt * 0.5)
    raise AssertionError("unreachable")


def paced(bot: Bot, priority: Priority) -> dict[str, Any]:
    """The argument that tells `bot.tg.gate` how urgent a send is (an ExtBot takes it)."""
    return {"rate_limit_args": int(priority)} if isinstance(bot, ExtBot) else {}


async def react(bot: Bot, destination: Destination, emoji: str = "👀") -> None:
    """Mark the asking message with a reaction; a lost reaction is only logged."""
    if destination.reply_to is None:
        return
    try:
        await bot.set_message_reaction(destination.chat_id, destination.reply_to, emoji)
    except TelegramError as exc:
        log.info("no reaction in chat %d: %s", destination.chat_id, exc)


def to(destination: Destination) -> dict[str, Any]:
    """The arguments of a send to `destination`: its chat and topic, quoting the asking
    message, and still sent if that message was deleted meanwhile."""
    where = in_topic(destination)
    if destination.reply_to is not None:
        where["reply_parameters"] = ReplyParameters(
            destination.reply_to, allow_sending_without_reply=True
        )
    return where


def in_topic(destination: Destination) -> dict[str, Any]:
    """The arguments of a chat action at `destination`: its chat and topic (no quote)."""
    where: dict[str, Any] = {"chat_id": destination.chat_id}
    if destination.thread_id is not None:
        where["message_thread_id"] = destination.thread_id
    return where


async def say(
    bot: Bot,
    destination: Destination,
    text: str,
    priority: Priority = Priority.NOTICE,
    buttons: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Send `text` to `destination`; the message, or None if it could not be sent."""
    chat_id = destination.chat_id
    try:
        return await retrying(
            lambda: bot.send_message(
                text=texts.shorten(text),
                reply_markup=buttons,
                **to(destination),
                **paced(bot, priority),
            )
        )
    except Forbidden as exc:
        log.warning("cannot write to chat %d: %s", chat_id, exc.message)
    except TelegramError as exc:
        log.warning("message to chat %d not sent: %s", chat_id, exc)
    return None


async def answer(
    message: Message, text: str, buttons: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Reply to `message`, quoting it, in its topic, through `say`."""
    return await say(message.get_bot(), destination_of(message), text, Priority.RESULT, buttons)

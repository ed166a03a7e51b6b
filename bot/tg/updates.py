"""Fetching updates safely: a bad update is skipped, a revoked token stops the bot, and a
batch just received is handled before the next poll.

PTB's Updater re-fetches a batch it cannot parse for ever (the offset never moves past
it), and when the token is revoked its polling task ends while the process lives on,
deaf. `UpdateSafeBot` fixes both at the one place polled updates come in; `read_update` is
the one reading of an update, shared with the webhook server (`bot.tg.webhook`).

The Updater polls again the moment a batch is in, and building and sending that call
(about 0.5 ms of the event loop) would stand in the way of every update of the batch on
its way to the gateway (about 2 ms). After a batch the next poll waits `POLL_PAUSE`;
Telegram keeps what arrives meanwhile for it. After an empty poll or an error there is no
pause of ours: the Updater's own back-off applies. (The Updater's `poll_interval` would
pause after every poll, and its back-off after errors starts from it: 1.5 x 10 ms is a
hot loop.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import ExtBot

log = logging.getLogger(__name__)

#: Seconds the poll after a batch of updates waits, so the batch has the event loop first.
POLL_PAUSE = 0.01


class UpdateSafeBot(ExtBot[int]):
    """An `ExtBot` whose `get_updates` never loops on a bad update, reports a dead token,
    and waits `POLL_PAUSE` after a batch."""

    def __init__(self, *args: Any, on_invalid_token: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_invalid_token = on_invalid_token
        self._after_batch = False

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: Any = None,  # noqa: ASYNC109 - PTB's signature
        allowed_updates: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> tuple[Update, ...]:
        """The pending updates; one that cannot be read is replaced by an empty update."""
        if self._after_batch:
            self._after_batch = False
            await asyncio.sleep(POLL_PAUSE)
        updates = await self._fetch(offset, limit, timeout, allowed_updates, **kwargs)
        self._after_batch = bool(updates)
        return updates

    async def _fetch(
        self,
        offset: int | None,
        limit: int | None,
        timeout: Any,  # noqa: ASYNC109 - PTB's signature
        allowed_updates: Sequence[str] | None,
        **kwargs: Any,
    ) -> tuple[Update, ...]:
        try:
            return await super().get_updates(offset, limit, timeout, allowed_updates, **kwargs)
        except InvalidToken:
            log.critical("Telegram rejected the bot token; stopping")
            self._on_invalid_token()
            raise
        except TelegramError:
            raise
        except Exception:  # noqa: BLE001 - PTB could not parse one of the updates
            return await self._updates_one_by_one(offset, limit, allowed_updates)

    async def _updates_one_by_one(
        self, offset: int | None, limit: int | None, allowed_updates: Sequence[str] | None
    ) -> tuple[Update, ...]:
        data = {"offset": offset, "limit": limit, "timeout": 0, "allowed_updates": allowed_updates}
        raw: list[dict[str, Any]] = await self._post("getUpdates", data)
        # one that cannot be read stands as an empty update, so the offset moves past it
        return tuple(read_update(item, self) or Update(int(item["update_id"])) for item in raw)


def read_update(data: Any, bot: Bot) -> Update | None:
    """`data` (an update as Telegram sent it) as PTB's `Update`; None, and an ERROR line,
    when PTB cannot read it: the update is skipped, never fetched or delivered again."""
    number = data.get("update_id") if isinstance(data, dict) else None
    try:
        update = Update.de_json(data, bot)
    except Exception:  # whatever PTB trips over, the bot goes on
        log.exception("skipped update %s, which could not be read", number)
        return None
    if update is None:  # not an object at all (the webhook's body was not one)
        log.error("skipped update %s, which could not be read: not an update", number)
    return update

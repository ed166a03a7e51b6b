"""Running one image job for a Telegram chat, from status to delivered result."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot import texts
from bot.domain import ImageJob
from bot.ledger.store import Interrupted
from bot.tg.context import BotContext
from bot.tg.delivery import chat_action, delete_quietly
from bot.tg.replies import say

AGAIN = "again"
HD = "hd"
#: How long a stopping bot spends telling a user their request was cut off.
FAREWELL_TIMEOUT = 3.0


def result_buttons(request_id: int, lang: str) -> InlineKeyboardMarkup:
    """ "Again" and "HD" buttons that rerun request `request_id`."""
    again = InlineKeyboardButton(
        texts.tr(lang, "button_again"), callback_data=f"{AGAIN}:{request_id}"
    )
    hd = InlineKeyboardButton(texts.tr(lang, "button_hd"), callback_data=f"{HD}:{request_id}")
    return InlineKeyboardMarkup([[again, hd]])


async def run_job(context: BotContext, job: ImageJob) -> None:
    """Run `job` and deliver its images in the requester's chat, replying to the asker."""
    deps = context.deps
    reply_to = job.reply_to
    chat_id = job.requester.chat_id
    lang = job.requester.language
    notices: list[asyncio.Task[Message | None]] = []

    async def tell_position(position: int) -> None:
        # Sent on the side: a slot handed over meanwhile must not wait for Telegram.
        text = texts.tr(lang, "queued", position=position)
        notices.append(asyncio.create_task(say(context.bot, chat_id, text, reply_to)))

    async def clear_notes() -> None:
        while notices:
            note = await notices.pop()
            if note is not None:
                await delete_quietly(note)

    with deps.tracker.track():
        try:
            async with (
                chat_action(context.bot, chat_id) as show_status,
                deps.service.run(job, on_queued=tell_position, on_started=show_status) as outcome,
            ):
                await clear_notes()
                outcome.bytes_delivered = await deps.delivery.send(
                    context.bot,
                    chat_id=chat_id,
                    reply_to=reply_to,
                    result=outcome.result,
                    hd=job.hd,
                    lang=lang,
                    buttons=result_buttons(outcome.result.request_id, lang),
                )
        except asyncio.CancelledError:
            # The bot is stopping and this request ran out of time: say so, briefly.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(FAREWELL_TIMEOUT):
                    await say(context.bot, chat_id, texts.tr(lang, "interrupted"), reply_to)
            raise
        finally:
            await clear_notes()


async def tell_interrupted(bot: Bot, interrupted: Iterable[Interrupted]) -> None:
    """Tell each user whose request an earlier run left unfinished (a crash) to send it again."""
    for request in interrupted:
        await say(bot, request.chat_id, texts.tr(request.language, "interrupted"), request.reply_to)

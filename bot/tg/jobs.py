"""Running one image job for a Telegram message, from status to delivered result."""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import TelegramError

from bot import texts
from bot.domain import ImageJob
from bot.tg.context import BotContext
from bot.tg.delivery import chat_action, delete_quietly

AGAIN = "again"
HD = "hd"


def result_buttons(request_id: int, lang: str) -> InlineKeyboardMarkup:
    """ "Again" and "HD" buttons that rerun request `request_id`."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.tr(lang, "button_again"), callback_data=f"{AGAIN}:{request_id}"
                ),
                InlineKeyboardButton(
                    texts.tr(lang, "button_hd"), callback_data=f"{HD}:{request_id}"
                ),
            ]
        ]
    )


async def run_job(context: BotContext, job: ImageJob, reply_to: Message) -> None:
    """Run `job` and deliver its images as replies to `reply_to`."""
    deps = context.deps
    lang = job.requester.language
    notes: list[Message] = []

    async def tell_position(position: int) -> None:
        with contextlib.suppress(TelegramError):
            notes.append(await reply_to.reply_text(texts.tr(lang, "queued", position=position)))

    with deps.tracker.track():
        async with chat_action(context.bot, reply_to.chat_id):
            try:
                result = await deps.service.run(job, on_queued=tell_position)
            finally:
                for note in notes:
                    await delete_quietly(note)
            sent = await deps.delivery.send(
                context.bot,
                chat_id=reply_to.chat_id,
                reply_to=reply_to.message_id,
                result=result,
                hd=job.hd,
                lang=lang,
                buttons=result_buttons(result.request_id, lang),
            )
    await deps.service.record_delivery(result.request_id, sent)

"""Running one image job for a Telegram chat, from status to delivered result."""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import TelegramError

from bot import texts
from bot.domain import ImageJob
from bot.tg.context import BotContext
from bot.tg.delivery import chat_action, delete_quietly

AGAIN = "again"
HD = "hd"


def result_buttons(request_id: int, lang: str) -> InlineKeyboardMarkup:
    """ "Again" and "HD" buttons that rerun request `request_id`."""
    again = InlineKeyboardButton(
        texts.tr(lang, "button_again"), callback_data=f"{AGAIN}:{request_id}"
    )
    hd = InlineKeyboardButton(texts.tr(lang, "button_hd"), callback_data=f"{HD}:{request_id}")
    return InlineKeyboardMarkup([[again, hd]])


async def run_job(context: BotContext, job: ImageJob, reply_to: int | None) -> None:
    """Run `job` and deliver its images in the requester's chat, replying to `reply_to`."""
    deps = context.deps
    chat_id = job.requester.chat_id
    lang = job.requester.language
    notes: list[Message] = []

    async def tell_position(position: int) -> None:
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        with contextlib.suppress(TelegramError):
            text = texts.tr(lang, "queued", position=position)
            notes.append(await context.bot.send_message(chat_id, text, reply_parameters=reply))

    with deps.tracker.track():
        async with chat_action(context.bot, chat_id):
            try:
                result = await deps.service.run(job, on_queued=tell_position)
            finally:
                for note in notes:
                    await delete_quietly(note)
            sent = await deps.delivery.send(
                context.bot,
                chat_id=chat_id,
                reply_to=reply_to,
                result=result,
                hd=job.hd,
                lang=lang,
                buttons=result_buttons(result.request_id, lang),
            )
    await deps.service.record_delivery(result.request_id, sent)

"""Sending results (SPEC section 2, "Results") and the "sending photo…" status.

An image Telegram accepts as a photo (10 MB, width + height <= 10000) goes as a photo.
HD results, and anything Telegram would refuse, go as a downscaled photo preview followed
by the original file as a document. Flood control (429) is retried by PTB's rate limiter;
network errors here are retried a couple of times, refusals are not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from telegram import Bot, InlineKeyboardMarkup, InputFile, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import Forbidden, NetworkError, TelegramError

from bot import texts
from bot.domain import GeneratedImage, JobResult
from bot.errors import DeliveryFailed
from bot.imaging import ImageWorker, fits_photo, preview
from bot.tg.replies import refused, retrying

log = logging.getLogger(__name__)

CHAT_ACTION_EVERY = 4.0


@contextlib.asynccontextmanager
async def chat_action(
    bot: Bot, chat_id: int, action: str = ChatAction.UPLOAD_PHOTO
) -> AsyncIterator[Callable[[], None]]:
    """Yield `show()`: once called, `action` shows in the chat, renewed every 4 s, until the
    block ends. (A request waiting for a gateway slot shows its queue position instead.)
    """
    shown: list[asyncio.Task[None]] = []

    async def renew() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, action)
            await asyncio.sleep(CHAT_ACTION_EVERY)

    def show() -> None:
        if not shown:
            shown.append(asyncio.create_task(renew()))

    try:
        yield show
    finally:
        for task in shown:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Delivery:
    """Sends a job's images as replies, with the result buttons on the last message."""

    def __init__(self, worker: ImageWorker) -> None:
        self._worker = worker

    async def send(
        self,
        bot: Bot,
        *,
        chat_id: int,
        reply_to: int | None,
        result: JobResult,
        hd: bool,
        lang: str,
        buttons: InlineKeyboardMarkup | None,
    ) -> int:
        """Send every image of `result`; the number of bytes uploaded.

        Raises `DeliveryFailed` when Telegram cannot take them (after retries), and lets
        `Forbidden` through when the user blocked the bot.
        """
        sent = 0
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        try:
            for index, image in enumerate(result.images):
                last = index == len(result.images) - 1
                name = f"image-{result.request_id}-{index + 1}.{image.extension}"
                sent += await self._send_image(
                    bot, chat_id, reply, image, hd, lang, name, buttons if last else None
                )
        except Forbidden:
            raise
        except TelegramError as exc:
            raise DeliveryFailed(str(exc)) from exc
        return sent

    async def _send_image(
        self,
        bot: Bot,
        chat_id: int,
        reply: ReplyParameters | None,
        image: GeneratedImage,
        hd: bool,
        lang: str,
        name: str,
        buttons: InlineKeyboardMarkup | None,
    ) -> int:
        if not hd and fits_photo(len(image.data), image.width, image.height):
            try:
                await retrying(
                    lambda: bot.send_photo(
                        chat_id, image.data, reply_parameters=reply, reply_markup=buttons
                    )
                )
                return len(image.data)
            except NetworkError as exc:
                if not refused(exc):
                    raise
                log.info("photo refused (%s); sending preview and file instead", exc.message)
        sent = len(image.data) + await self._send_preview(bot, chat_id, reply, image)
        caption = texts.tr(lang, "original_file", size=texts.size(len(image.data)))
        document = InputFile(image.data, filename=name, attach=True)
        await retrying(
            lambda: bot.send_document(
                chat_id,
                document,
                caption=caption,
                reply_parameters=reply,
                reply_markup=buttons,
                disable_content_type_detection=True,
            )
        )
        return sent

    async def _send_preview(
        self, bot: Bot, chat_id: int, reply: ReplyParameters | None, image: GeneratedImage
    ) -> int:
        """A downscaled photo ahead of the original file; its size, or 0 if none was sent."""
        try:
            small = await self._worker.run(preview, image.data)
            await retrying(lambda: bot.send_photo(chat_id, small, reply_parameters=reply))
        except (OSError, ValueError) as exc:
            log.warning("no preview for a %s result: %s", image.mime, exc)
            return 0
        except NetworkError as exc:
            if not refused(exc):
                raise
            log.info("preview refused (%s); sending the file alone", exc.message)
            return 0
        return len(small)


async def delete_quietly(message: Message) -> None:
    """Delete a message of ours, ignoring failures (already gone, too old)."""
    with contextlib.suppress(TelegramError):
        await message.delete()

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
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup, InputFile, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, NetworkError, TelegramError

from bot import texts
from bot.domain import GeneratedImage, JobResult
from bot.imaging import ImageWorker, fits_photo, preview

log = logging.getLogger(__name__)

T = TypeVar("T")

CHAT_ACTION_EVERY = 4.0
SEND_ATTEMPTS = 3


@contextlib.asynccontextmanager
async def chat_action(
    bot: Bot, chat_id: int, action: str = ChatAction.UPLOAD_PHOTO
) -> AsyncIterator[None]:
    """Show `action` in the chat, renewed every 4 s, while the block runs."""

    async def renew() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, action)
            await asyncio.sleep(CHAT_ACTION_EVERY)

    task = asyncio.create_task(renew())
    try:
        yield
    finally:
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
        """Send every image of `result`; the number of bytes uploaded."""
        sent = 0
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        for index, image in enumerate(result.images):
            last = index == len(result.images) - 1
            name = f"image-{result.request_id}-{index + 1}.{image.extension}"
            sent += await self._send_image(
                bot, chat_id, reply, image, hd, lang, name, buttons if last else None
            )
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
                await _retry(
                    lambda: bot.send_photo(
                        chat_id, image.data, reply_parameters=reply, reply_markup=buttons
                    )
                )
                return len(image.data)
            except NetworkError as exc:
                if not _refused(exc):
                    raise
                log.info("photo refused (%s); sending preview and file instead", exc.message)
        small = await self._worker.run(preview, image.data)
        sent = len(image.data)
        try:
            await _retry(lambda: bot.send_photo(chat_id, small, reply_parameters=reply))
            sent += len(small)
        except NetworkError as exc:
            if not _refused(exc):
                raise
            log.info("preview refused (%s); sending the file alone", exc.message)
        caption = texts.tr(lang, "original_file", size=texts.size(len(image.data)))
        document = InputFile(image.data, filename=name, attach=True)
        await _retry(
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


def _refused(exc: NetworkError) -> bool:
    """Telegram refused the upload itself (bad photo, too large): sending again won't help."""
    return isinstance(exc, BadRequest) or "too large" in exc.message.lower()


async def _retry(send: Callable[[], Awaitable[T]]) -> T:
    """Run `send`, retrying network failures (not refusals) with a short backoff."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await send()
        except NetworkError as exc:
            if _refused(exc) or attempt == SEND_ATTEMPTS:
                raise
            log.warning("send failed (%s); retrying", exc)
            await asyncio.sleep(attempt)
    raise AssertionError("unreachable")


async def delete_quietly(message: Message) -> None:
    """Delete a message of ours, ignoring failures (already gone, too old)."""
    with contextlib.suppress(TelegramError):
        await message.delete()

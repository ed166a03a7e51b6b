"""A job's life in the chat: the status, queue notices, and the result with its buttons.

While a job runs the chat shows "sending photo…" (renewed every 4 s) once it has a gateway
slot; a job waiting for one is told its place in the queue instead, and the notice is
deleted when the result comes. Results follow SPEC section 2, "Results": an image Telegram
accepts as a photo (10 MB, width + height <= 10000) goes as a photo; HD results, and
anything Telegram would refuse, go as a downscaled photo preview followed by the original
file. Every send goes through `bot.tg.sending`, whose delivery promise applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ChatAction
from telegram.error import Forbidden, NetworkError, TelegramError

from bot import texts
from bot.core.running import JobTracker
from bot.core.service import ImageService
from bot.domain import Destination, GeneratedImage, ImageJob, Interrupted, JobResult
from bot.errors import DeliveryFailed
from bot.imaging import ImageWorker, fits_photo, preview
from bot.tg.gate import Priority
from bot.tg.sending import in_topic, paced, refused, retrying, say, to

log = logging.getLogger(__name__)

AGAIN = "again"
HD = "hd"
CHAT_ACTION_EVERY = 4.0
#: How long a stopping bot spends telling a user their request was cut off.
FAREWELL_TIMEOUT = 3.0


async def _delete(message: Message) -> None:
    with contextlib.suppress(TelegramError):
        await message.delete()


def result_buttons(request_id: int, lang: str) -> InlineKeyboardMarkup:
    """ "Again" and "HD" buttons that rerun request `request_id`."""
    again = InlineKeyboardButton(
        texts.tr(lang, "button_again"), callback_data=f"{AGAIN}:{request_id}"
    )
    hd = InlineKeyboardButton(texts.tr(lang, "button_hd"), callback_data=f"{HD}:{request_id}")
    return InlineKeyboardMarkup([[again, hd]])


class Results:
    """Runs jobs for chats and delivers what they make."""

    def __init__(
        self, bot: Bot, service: ImageService, tracker: JobTracker, worker: ImageWorker
    ) -> None:
        self._bot = bot
        self._service = service
        self._tracker = tracker
        self._worker = worker
        self._side: set[asyncio.Task[None]] = set()

    async def run(self, job: ImageJob) -> None:
        """Run `job` and deliver its images to its destination."""
        where = job.destination
        lang = job.requester.language
        notices: list[asyncio.Task[Message | None]] = []

        async def tell_position(position: int) -> None:
            # Sent on the side: a slot handed over meanwhile must not wait for Telegram.
            text = texts.tr(lang, "queued", position=position)
            notices.append(asyncio.create_task(say(self._bot, where, text)))

        def clear_notices() -> None:
            # Never waited for: a result must not queue behind its own queue notice. A
            # notice still on its way is called off; those sent are deleted on the side.
            while notices:
                notice = notices.pop()
                if not notice.done():
                    notice.cancel()
                elif not notice.cancelled() and notice.exception() is None:
                    sent = notice.result()
                    if sent is not None:
                        self._on_the_side(_delete(sent))

        with self._tracker.track():
            try:
                async with (
                    self._chat_action(where) as show_status,
                    self._service.run(
                        job, on_queued=tell_position, on_started=show_status
                    ) as outcome,
                ):
                    clear_notices()
                    outcome.bytes_delivered = await self._deliver(job, outcome.result)
            except asyncio.CancelledError:
                # The bot is stopping and this request ran out of time: say so, briefly.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(FAREWELL_TIMEOUT):
                        await say(self._bot, where, texts.tr(lang, "interrupted"))
                raise
            finally:
                clear_notices()

    def _on_the_side(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    async def tell_interrupted(self, interrupted: Iterable[Interrupted]) -> None:
        """Tell each user whose request an earlier run left unfinished to send it again."""
        for request in interrupted:
            await say(self._bot, request.destination, texts.tr(request.language, "interrupted"))

    @contextlib.asynccontextmanager
    async def _chat_action(self, where: Destination) -> AsyncIterator[Callable[[], None]]:
        """Yield `show()`: once called, "sending photo…" shows in the chat, renewed every 4 s,
        until the block ends.

        The status starts once the step that called `show()` has run on: that step usually
        sends the gateway request, which then does not wait behind the status it stands for.
        """
        shown: list[asyncio.Task[None]] = []
        ended = False

        async def renew() -> None:
            while True:
                with contextlib.suppress(TelegramError):
                    await self._bot.send_chat_action(
                        action=ChatAction.UPLOAD_PHOTO, **in_topic(where)
                    )
                await asyncio.sleep(CHAT_ACTION_EVERY)

        def start() -> None:
            if not shown and not ended:
                shown.append(asyncio.create_task(renew()))

        def show() -> None:
            asyncio.get_running_loop().call_soon(start)

        try:
            yield show
        finally:
            ended = True
            for task in shown:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _deliver(self, job: ImageJob, result: JobResult) -> int:
        """Send every image of `result`, buttons under the last; the number of bytes uploaded.

        Raises `DeliveryFailed` when Telegram cannot take them, and lets `Forbidden` through
        when the user blocked the bot.
        """
        lang = job.requester.language
        buttons = result_buttons(result.request_id, lang)
        sent = 0
        try:
            for index, image in enumerate(result.images, 1):
                last = index == len(result.images)
                name = f"image-{result.request_id}-{index}.{image.extension}"
                markup = buttons if last else None
                sent += await self._send_image(job, image, name, markup)
        except Forbidden:
            raise
        except TelegramError as exc:
            raise DeliveryFailed(str(exc)) from exc
        return sent

    async def _send_image(
        self, job: ImageJob, image: GeneratedImage, name: str, buttons: InlineKeyboardMarkup | None
    ) -> int:
        where = to(job.destination) | paced(self._bot, Priority.RESULT)
        if not job.hd and fits_photo(len(image.data), image.width, image.height):
            try:
                await retrying(
                    lambda: self._bot.send_photo(photo=image.data, reply_markup=buttons, **where)
                )
                return len(image.data)
            except NetworkError as exc:
                if not refused(exc):
                    raise
                log.info("photo refused (%s); sending preview and file instead", exc.message)
        sent = len(image.data) + await self._send_preview(job.destination, image)
        caption = texts.tr(
            job.requester.language, "original_file", size=texts.size(len(image.data))
        )
        document = InputFile(image.data, filename=name, attach=True)
        await retrying(
            lambda: self._bot.send_document(
                document=document,
                caption=caption,
                reply_markup=buttons,
                disable_content_type_detection=True,
                **where,
            )
        )
        return sent

    async def _send_preview(self, where: Destination, image: GeneratedImage) -> int:
        """A downscaled photo ahead of the original file; its size, or 0 if none was sent."""
        try:
            small = await self._worker.run(preview, image.data)
            urgent = paced(self._bot, Priority.RESULT)
            await retrying(lambda: self._bot.send_photo(photo=small, **to(where), **urgent))
        except (OSError, ValueError) as exc:
            log.warning("no preview for a %s result: %s", image.mime, exc)
            return 0
        except NetworkError as exc:
            if not refused(exc):
                raise
            log.info("preview refused (%s); sending the file alone", exc.message)
            return 0
        return len(small)

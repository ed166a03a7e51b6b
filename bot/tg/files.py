"""Fetching input images from Telegram by `file_id`: the core's `ImageLoader`.

Downloads go through the sending module's retry rule; a file over the download limit, or
one Telegram no longer has, is refused as unusable. Album parts can be fetched ahead
(`prefetch`), while the album is still being collected.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from telegram import Bot, File
from telegram.error import BadRequest, TelegramError

from bot.domain import InputImage
from bot.errors import InputDownloadFailed, InputImageTooLarge, InputsGone
from bot.imaging import ImageWorker, for_gateway, inspect
from bot.tg.sending import retrying

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger(__name__)

#: The Bot API's getFile limit, except on a self-hosted server in --local mode.
DOWNLOAD_LIMIT = 20 * 1024 * 1024
#: Our own limit in --local mode (files are read from disk): as large as a result may be.
LOCAL_MODE_LIMIT = 50 * 1024 * 1024
PREFETCH_TTL = 120.0
#: Images fetched ahead at most (20 MB each at worst): beyond, albums fetch when they run.
MAX_PREFETCHED = 20


class TelegramImages:
    """Fetches images by `file_id` through the Bot API (the service's `ImageLoader`)."""

    def __init__(self, bot: Bot, worker: ImageWorker, *, limit: int = DOWNLOAD_LIMIT) -> None:
        self._bot = bot
        self._worker = worker
        self._limit = limit
        #: Downloads started ahead of a job, each with the timer that drops it if unused.
        self._prefetched: dict[str, tuple[asyncio.Task[InputImage], asyncio.TimerHandle]] = {}

    async def load(self, refs: Sequence[str]) -> list[InputImage]:
        """The images, in order; raise a `BadInput` subclass when one is unusable."""
        tasks = [self._take_prefetched(ref) or self._start(ref) for ref in refs]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()  # no-op when done; stops siblings of a failed download

    def _take_prefetched(self, ref: str) -> asyncio.Task[InputImage] | None:
        task, timer = self._prefetched.pop(ref, (None, None))
        if timer is not None:
            timer.cancel()  # the timer holds the task, and so the image, until it fires
        return task

    def _start(self, ref: str) -> asyncio.Task[InputImage]:
        return asyncio.ensure_future(self._fetch(ref))

    def prefetch(self, ref: str) -> None:
        """Start fetching an image that a job will probably ask for soon (if room is left)."""
        if ref in self._prefetched or len(self._prefetched) >= MAX_PREFETCHED:
            return
        task = asyncio.ensure_future(self._fetch(ref))
        task.add_done_callback(_consume_exception)
        timer = asyncio.get_running_loop().call_later(PREFETCH_TTL, self._forget, ref)
        self._prefetched[ref] = (task, timer)

    def _forget(self, ref: str) -> None:
        task, _ = self._prefetched.pop(ref)
        task.cancel()

    async def _fetch(self, ref: str) -> InputImage:
        try:
            file = await retrying(lambda: self._bot.get_file(ref), idempotent=True)
            if file.file_size and file.file_size > self._limit:
                raise InputImageTooLarge(ref, self._limit)
            data = await self._download(file)
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise InputImageTooLarge(ref, self._limit) from None
            raise InputsGone(ref) from None
        except (TelegramError, OSError) as exc:
            log.warning("download of an input image failed: %s", exc)
            raise InputDownloadFailed(ref) from None
        info = await self._worker.run(inspect, data)
        payload, mime = await self._worker.run(for_gateway, data, info)
        return InputImage(payload, mime)

    async def _download(self, file: File) -> bytes:
        """The file's bytes: over HTTP, or from the disk a local Bot API server shares."""
        if self._bot.local_mode and file.file_path:  # PTB would read the disk on the loop
            data = await self._worker.run(_read_local, file.file_path)
            if data is not None:
                return data
        kept = _Kept()
        await retrying(lambda: file.download_to_memory(kept), idempotent=True)
        return kept.data


class _Kept(io.BytesIO):
    """Where `download_to_memory` puts a file: the downloaded bytes kept as they are (a
    bytearray or a plain `BytesIO` would copy a 20 MB photo twice more)."""

    data = b""

    def write(self, buffer: ReadableBuffer, /) -> int:
        piece = bytes(buffer)  # the same object when it is bytes already
        self.data = self.data + piece if self.data else piece  # PTB writes once
        return len(piece)


def _read_local(path: str) -> bytes | None:
    """The file at `path` if it is on this machine's disk; None if the server serves it."""
    local = Path(path)
    return local.read_bytes() if local.is_file() else None


def _consume_exception(task: asyncio.Task[InputImage]) -> None:
    if not task.cancelled():
        with contextlib.suppress(Exception):
            task.exception()

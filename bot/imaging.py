"""CPU-heavy image work (Pillow, libvips, base64, big JSON), kept off the event loop.

`ImageWorker.run()` executes a function in a small dedicated thread pool. The pool's size
bounds how many images are decoded at once, so memory stays bounded however many requests
are in flight; the functions below are the pure, synchronous pieces it runs.

Previews of big results are made with libvips (`pyvips`), which decodes a PNG as a stream
and shrinks while it reads: a 4096x4096 result costs about a third of the memory and half
the time Pillow's full decode takes. Pillow stays the fallback for anything libvips cannot
read.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import pillow_heif
from PIL import ExifTags, Image, ImageOps

from bot.errors import InputImageInvalid, InputImageTooManyPixels

pillow_heif.register_heif_opener()

# `inspect` refuses anything over MAX_PIXELS from the header, before a pixel is decoded, and
# every image passes it first; Pillow's own, larger, process-wide limit is not needed.
Image.MAX_IMAGE_PIXELS = None

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_DIMENSION_SUM = 10_000
PHOTO_MAX_RATIO = 20
PREVIEW_MAX_SIDE = 2560
#: Larger images are refused: decoding 50 megapixels already takes 150 MB.
MAX_PIXELS = 50_000_000
#: Work on inputs up to this size runs on the event loop: well under a millisecond.
INLINE_BYTES = 64 * 1024

_MIME_BY_FORMAT = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # camera JPEGs with a second frame
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "HEIF": "image/heic",
    "AVIF": "image/avif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
#: Formats the model takes as they are; anything else is converted to PNG or JPEG.
_GATEWAY_FORMATS = frozenset({"image/png", "image/jpeg", "image/webp"})


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What an image's header says."""

    mime: str
    width: int
    height: int


class ImageWorker:
    """A bounded thread pool for image and encoding work."""

    def __init__(self, max_workers: int | None = None) -> None:
        workers = max_workers or min(4, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="image")

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn(*args, **kwargs)` in the pool and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    async def run_sized(
        self, size: int, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Like `run`, but call `fn` right here when its input (`size` bytes) is small.

        Below `INLINE_BYTES` the work takes less time than the hop to a thread.
        """
        if size <= INLINE_BYTES:
            return fn(*args, **kwargs)
        return await self.run(fn, *args, **kwargs)

    def close(self) -> None:
        """Stop the pool without waiting (the jobs using it have finished or been cancelled)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def inspect(data: bytes | bytearray | memoryview) -> ImageInfo:
    """Prove `data` is an intact image, as cheaply as its format allows.

    PNG: every chunk's checksum (`verify`), no pixels decoded. JPEG: decoded at 1/8 scale,
    which still reads every byte and so catches truncation. Anything else: decoded. Raise
    `InputImageTooManyPixels` above `MAX_PIXELS`, `InputImageInvalid` for anything broken.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            mime = _MIME_BY_FORMAT.get(img.format or "", "application/octet-stream")
            info = ImageInfo(mime, *img.size)
            if info.width * info.height > MAX_PIXELS:
                raise InputImageTooManyPixels(info.width, info.height)
            if img.format == "PNG":
                img.verify()
            else:
                img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
                img.load()
    except InputImageTooManyPixels:
        raise
    except Exception as exc:
        raise InputImageInvalid(f"{type(exc).__name__}: {exc}") from exc
    return info


def for_gateway(data: bytes, info: ImageInfo) -> tuple[bytes, str]:
    """The bytes and MIME type to send: the original, or a conversion the model reads."""
    if info.mime in _GATEWAY_FORMATS:
        return data, info.mime
    with Image.open(io.BytesIO(data)) as source:
        img = ImageOps.exif_transpose(source)
        out = io.BytesIO()
        if img.mode in ("RGBA", "LA", "P") and info.mime != "image/heic":
            img.save(out, "PNG")
            return out.getvalue(), "image/png"
        img.convert("RGB").save(out, "JPEG", quality=95)
        return out.getvalue(), "image/jpeg"


def fits_photo(size: int, width: int, height: int) -> bool:
    """Whether Telegram accepts these bytes as a photo (10 MB, w + h <= 10000, ratio 20)."""
    if size > PHOTO_MAX_BYTES or width + height > PHOTO_MAX_DIMENSION_SUM:
        return False
    return max(width, height) <= PHOTO_MAX_RATIO * max(1, min(width, height))


@functools.cache
def _vips() -> Any:  # pyvips has no type information
    """libvips, loaded with the first preview (start-up and idle memory do without it);
    None if it cannot be loaded here, and Pillow makes every preview.

    libvips keeps recent operations and their pixels for reuse; the bot never repeats one,
    so that cache would only hold a decoded 4K image per call for nothing. One thread per
    preview: the image pool already runs several at once.
    """
    try:
        import pyvips
    except (ImportError, OSError) as exc:
        log.warning("libvips is not available (%s); previews are made with Pillow", exc)
        return None
    pyvips.cache_set_max(0)
    pyvips.cache_set_max_mem(0)
    pyvips.concurrency_set(1)
    return pyvips


def preview(data: bytes, max_side: int = PREVIEW_MAX_SIDE) -> bytes:
    """A JPEG no larger than `max_side` on its long side, for a photo message (libvips,
    shrinking on load, rotated by EXIF, transparency on white; Pillow if libvips fails)."""
    vips = _vips()
    if vips is None:
        return preview_with_pillow(data, max_side)
    try:
        source = vips.Source.new_from_memory(data)  # read in place: a buffer would be copied
        img = vips.Image.thumbnail_source(source, max_side, height=max_side, size="down")
        if img.hasalpha():
            img = img.flatten(background=[255, 255, 255])
        if img.interpretation not in ("srgb", "b-w") or img.format != "uchar":
            img = img.colourspace("srgb")
        jpeg: bytes = img.write_to_buffer(".jpg", Q=88, strip=True)
    except vips.Error:
        return preview_with_pillow(data, max_side)
    return jpeg


def preview_with_pillow(data: bytes, max_side: int) -> bytes:
    """`preview` by Pillow: shrinks in place and rotates (EXIF) only the small result, so
    the full-size pixels exist once per call."""
    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale
        rotated = img.getexif().get(ExifTags.Base.Orientation, 1) != 1
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=2.0)
        small = ImageOps.exif_transpose(img) if rotated else img
        if small.mode in ("RGBA", "LA", "P", "PA"):
            small = small.convert("RGBA")
            background = Image.new("RGB", small.size, "white")
            background.paste(small, mask=small.getchannel("A"))
            small = background
        elif small.mode != "RGB":
            small = small.convert("RGB")
        out = io.BytesIO()
        small.save(out, "JPEG", quality=88)
        return out.getvalue()

"""Deterministic test images built with Pillow, and :func:`sniff_mime` to tell them apart.

The image makers are cached (``functools.lru_cache``) and return immutable ``bytes``, so tests
can call them freely. The same arguments always give the same bytes (for a given Pillow build).
"""

from __future__ import annotations

import functools
import io
import math
import random

from PIL import Image, ImageDraw

__all__ = [
    "big_png",
    "corrupt_image",
    "gif",
    "jpeg",
    "png",
    "sniff_mime",
    "truncated",
    "webp",
]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _picture(width: int, height: int, seed: int) -> Image.Image:
    """Draw a seed-dependent RGB picture (flat background plus a few shapes)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    rng = random.Random(seed)

    def colour() -> tuple[int, int, int]:
        return (rng.randrange(256), rng.randrange(256), rng.randrange(256))

    img = Image.new("RGB", (width, height), colour())
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, x1 = sorted((rng.randrange(width), rng.randrange(width)))
        y0, y1 = sorted((rng.randrange(height), rng.randrange(height)))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x1, y1), fill=colour())
        else:
            draw.ellipse((x0, y0, x1, y1), fill=colour())
    # A seed-dependent pixel in the corner guarantees distinct bytes for distinct seeds.
    img.putpixel((0, 0), (seed % 256, (seed // 256) % 256, (seed // 65536) % 256))
    return img


def _encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    """Encode a Pillow image to bytes in the given format."""
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


@functools.lru_cache(maxsize=64)
def png(width: int = 64, height: int = 64, *, seed: int = 0) -> bytes:
    """Return a small deterministic RGB PNG."""
    return _encode(_picture(width, height, seed), "PNG")


@functools.lru_cache(maxsize=64)
def jpeg(width: int = 64, height: int = 64, *, seed: int = 0, quality: int = 90) -> bytes:
    """Return a deterministic baseline JPEG."""
    return _encode(_picture(width, height, seed), "JPEG", quality=quality)


@functools.lru_cache(maxsize=64)
def webp(width: int = 64, height: int = 64, *, seed: int = 0, quality: int = 90) -> bytes:
    """Return a deterministic lossy WebP."""
    return _encode(_picture(width, height, seed), "WEBP", quality=quality)


@functools.lru_cache(maxsize=64)
def gif(width: int = 64, height: int = 64, *, seed: int = 0) -> bytes:
    """Return a deterministic single-frame palette GIF."""
    img = _picture(width, height, seed).convert("P", palette=Image.Palette.ADAPTIVE)
    return _encode(img, "GIF")


@functools.lru_cache(maxsize=8)
def big_png(target_bytes: int, *, width: int = 3840, height: int = 2160, seed: int = 0) -> bytes:
    """Return a valid RGB PNG of at least ``target_bytes`` (noise rows on a flat background)."""
    if target_bytes <= 0:
        raise ValueError("target_bytes must be positive")
    row_bytes = width * 3
    # Random noise is incompressible: each noise row costs ~row_bytes in the PNG stream,
    # while the flat remainder compresses to almost nothing.
    noise_rows = math.ceil(target_bytes / row_bytes) + 1
    height = max(height, noise_rows)
    rng = random.Random(seed)
    while True:
        noise = Image.frombytes("RGB", (width, noise_rows), rng.randbytes(row_bytes * noise_rows))
        img = Image.new("RGB", (width, height), (32, 64, 96))
        img.paste(noise, (0, 0))
        data = _encode(img, "PNG", compress_level=1)
        if len(data) >= target_bytes:
            return data
        noise_rows += math.ceil((target_bytes - len(data)) / row_bytes) + 1
        height = max(height, noise_rows)


def corrupt_image() -> bytes:
    """Return bytes that start with a PNG signature followed by garbage."""
    return _PNG_SIGNATURE + random.Random(1234).randbytes(2048)


def truncated(image: bytes) -> bytes:
    """Return the first half of ``image`` (a valid header, a cut-off body)."""
    return image[: max(1, len(image) // 2)]


def sniff_mime(data: bytes) -> str:
    """Guess an image MIME type from magic bytes (``application/octet-stream`` if unknown)."""
    if data.startswith(_PNG_SIGNATURE):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1"):
        return "image/heic"
    return "application/octet-stream"

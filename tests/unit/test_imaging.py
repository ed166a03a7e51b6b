"""`bot.imaging`: image checks, conversions and Telegram's photo limits."""

from __future__ import annotations

import io

import pillow_heif
import pytest
from PIL import Image

from bot.errors import (
    InputImageInvalid,
    InputImageTooManyPixels,
)
from bot.imaging import fits_photo, for_gateway, inspect, preview
from tests.fakes.images import big_png, jpeg, png, truncated


def heic(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (width, height), "red")).save(buffer, quality=80)
    return buffer.getvalue()


def mpo() -> bytes:
    """A camera-style JPEG with a second frame (Pillow calls it MPO)."""
    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "MPO", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


class TestInspect:
    """Every image is checked before it is used, cheaply and with the right MIME type."""

    @pytest.mark.parametrize(
        ("data", "mime"),
        [(png(10, 10), "image/png"), (jpeg(10, 10), "image/jpeg"), (mpo(), "image/jpeg")],
    )
    def test_mime_types(self, data: bytes, mime: str) -> None:
        """PNG, JPEG, and MPO (a JPEG) are named correctly and sent as they are."""
        info = inspect(data)
        assert info.mime == mime
        assert for_gateway(data, info) == (data, mime)

    def test_heic_is_converted_to_jpeg(self) -> None:
        """HEIC is read and converted for the model."""
        data = heic()
        converted, mime = for_gateway(data, inspect(data))
        assert mime == "image/jpeg"
        assert Image.open(io.BytesIO(converted)).size == (64, 48)

    @pytest.mark.parametrize(
        "data",
        [truncated(png(200, 200)), truncated(jpeg(400, 300)), truncated(heic()), b"", b"GIF8"],
        ids=["png", "jpeg", "heic", "empty", "gif header"],
    )
    def test_broken_images(self, data: bytes) -> None:
        """Truncated files of every format, and junk, are `InputImageInvalid`."""
        with pytest.raises(InputImageInvalid):
            inspect(data)

    def test_too_many_pixels_from_the_header(self) -> None:
        """A 20,000 x 20,000 PNG is refused by size before any pixel is decoded."""
        buffer = io.BytesIO()
        Image.new("1", (20_000, 20_000)).save(buffer, "PNG")
        with pytest.raises(InputImageTooManyPixels) as caught:
            inspect(buffer.getvalue())
        assert (caught.value.width, caught.value.height) == (20_000, 20_000)

    @pytest.mark.parametrize(
        ("size", "width", "height", "ok"),
        [
            (1000, 1024, 1024, True),
            (11 * 1024 * 1024, 1024, 1024, False),
            (1000, 9000, 1200, False),
            (1000, 4200, 200, False),
        ],
    )
    def test_what_telegram_takes_as_a_photo(
        self, size: int, width: int, height: int, ok: bool
    ) -> None:
        """10 MB, width + height <= 10000, and a ratio of at most 20."""
        assert fits_photo(size, width, height) is ok


class TestPreview:
    """The photo ahead of an HD file: a JPEG within 2560 px, made by libvips."""

    def test_a_square_4k_result(self) -> None:
        small = preview(big_png(2 * 1024 * 1024, width=4096, height=4096))
        with Image.open(io.BytesIO(small)) as img:
            assert (img.format, img.size) == ("JPEG", (2560, 2560))

    def test_transparency_goes_on_white_and_orientation_is_applied(self) -> None:
        clear = Image.new("RGBA", (3000, 1000), (0, 0, 0, 0))
        out = io.BytesIO()
        clear.save(out, "PNG")
        with Image.open(io.BytesIO(preview(out.getvalue()))) as img:
            assert img.size == (2560, 853)
            assert img.convert("RGB").getpixel((10, 10)) == (255, 255, 255)
        turned = Image.new("RGB", (3000, 1000), "red")
        exif = turned.getexif()
        exif[0x0112] = 6  # rotate 90° clockwise to show
        out = io.BytesIO()
        turned.save(out, "JPEG", exif=exif)
        with Image.open(io.BytesIO(preview(out.getvalue()))) as img:
            assert img.size == (853, 2560)

    def test_what_libvips_cannot_read_falls_back_to_pillow(self) -> None:
        with Image.open(io.BytesIO(preview(heic(3000, 2000)))) as img:
            assert img.format == "JPEG" and max(img.size) <= 2560

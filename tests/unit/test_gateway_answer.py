"""Reading gateway answers: every image in order, whatever way the JSON was written."""

from __future__ import annotations

import base64
import json

import pytest

from bot.errors import MalformedAnswer
from bot.gateway.answer import read_answer
from tests.fakes.images import jpeg, png

LIMIT = 50 * 1024 * 1024


def answer(content: object, **message: object) -> bytes:
    return json.dumps({"choices": [{"message": {"content": content, **message}}]}).encode()


def data_url(image: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(image).decode()}"


class TestImagesInOrder:
    """Links and inline images come out in the order the answer gives them."""

    def test_mixed_links_and_data_urls(self) -> None:
        """URL, inline, URL: three sources in that order; the text is kept without them."""
        inline = png(20, 20, seed=1)
        content = (
            "Here: ![a](https://x.io/1.png) and ![b](" + data_url(inline) + ") "
            'then ![c](https://x.io/2.png "title").'
        )
        result = read_answer(answer(content), LIMIT)
        assert result.sources == ["https://x.io/1.png", inline, "https://x.io/2.png"]
        assert result.text == "Here:  and  then ."

    def test_bare_data_url_and_images_field(self) -> None:
        """A bare data URL in the text, then OpenRouter's `images` list."""
        first, second = png(8, 8, seed=2), jpeg(8, 8, seed=3)
        body = answer(
            "look " + data_url(first),
            images=[{"type": "image_url", "image_url": {"url": data_url(second, "image/jpeg")}}],
        )
        assert read_answer(body, LIMIT).sources == [first, second]

    def test_content_as_a_list_of_parts(self) -> None:
        """Content given as parts: text parts and image_url parts."""
        image = png(8, 8, seed=4)
        body = answer(
            [
                {"type": "text", "text": "done"},
                {"type": "image_url", "image_url": {"url": data_url(image)}},
            ]
        )
        result = read_answer(body, LIMIT)
        assert result.sources == [image] and result.text == "done"

    def test_skipped_data_url_before_an_inline_image(self) -> None:
        """A non-base64 `data:image/` (an SVG) before an inline image: both survive intact."""
        image = png(16, 16, seed=7)
        content = "vector: data:image/svg+xml,<svg/> raster: ![x](" + data_url(image) + ") end"
        result = read_answer(answer(content), LIMIT)
        assert result.sources == [image]
        assert result.text == "vector: data:image/svg+xml,<svg/> raster:  end"

    def test_inline_image_then_an_escaped_one(self) -> None:
        """A raw inline image, then one whose payload JSON-escapes: both, in order."""
        first, second = png(16, 16, seed=8), png(16, 16, seed=9)
        wrapped = base64.encodebytes(second).decode()  # `\n` escapes in the JSON
        content = f"![a]({data_url(first)}) ![b](data:image/png;base64,{wrapped})"
        assert read_answer(answer(content), LIMIT).sources == [first, second]


class TestEscapedJson:
    """Gateways that escape slashes or wrap base64 still parse, via the JSON path."""

    def test_escaped_slashes(self) -> None:
        """`\\/` inside the payload (PHP-style JSON) decodes to the same bytes."""
        image = png(64, 64, seed=5)
        body = answer("![x](" + data_url(image) + ")").replace(b"/", b"\\/")
        assert read_answer(body, LIMIT).sources == [image]

    def test_wrapped_base64(self) -> None:
        """Base64 broken into lines (`\\n` escapes in JSON) decodes to the same bytes."""
        image = png(64, 64, seed=6)
        encoded = base64.encodebytes(image).decode()  # 76-character lines
        body = answer(f"![x](data:image/png;base64,{encoded})")
        assert read_answer(body, LIMIT).sources == [image]


class TestRefusals:
    """Answers that are not usable."""

    def test_text_only(self) -> None:
        """No image: no sources, and the text is kept for the user."""
        result = read_answer(answer("I cannot help with that."), LIMIT)
        assert result.sources == [] and result.text == "I cannot help with that."

    def test_data_url_named_in_a_sentence(self) -> None:
        """A refusal that mentions "data:image/" is relayed as text, not a broken answer."""
        text = "I cannot return data:image/ URLs here."
        result = read_answer(answer(text), LIMIT)
        assert result.sources == [] and result.text == text

    def test_null_content_without_images(self) -> None:
        """`content: null` and nothing else: no image, no text."""
        result = read_answer(answer(None), LIMIT)
        assert result.sources == [] and result.text == ""

    @pytest.mark.parametrize(
        "body",
        [
            b'{"error": {"message": "quota exhausted"}}',
            b'{"choices": [{"message": {"content": "![x](data:image/png;base64,@@@)"}}]}',
            b'{"choices": [{"message": {"content": "![x](data:image/png,rawbytes)"}}]}',
        ],
    )
    def test_malformed(self, body: bytes) -> None:
        """An error object, bad base64, a non-base64 data URL: `MalformedAnswer`."""
        with pytest.raises(MalformedAnswer):
            read_answer(body, LIMIT)

    def test_size_cap_applies_before_decoding(self) -> None:
        """An inline image over the cap is refused by its length."""
        body = answer("![x](data:image/png;base64," + "A" * 4096 + ")")
        with pytest.raises(MalformedAnswer, match="larger"):
            read_answer(body, 1024)

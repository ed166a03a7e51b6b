"""Reading a chat-completion answer: which images it carries, what it says, its usage.

Answers come in three shapes (SPEC section 1), possibly mixed and with several images:

- markdown image links in `choices[].message.content`: `![image](https://…/x.png)`;
- `data:` URLs in the content, bare or inside the markdown: an HD image is a 15-27 MB
  base64 string. Base64 needs no JSON escaping, so each payload is decoded straight from
  the raw answer bytes (a `memoryview` slice, found with `bytes.find`: linear, no regex)
  and replaced by a short marker before the small remainder goes through `json.loads`.
  A payload the gateway escaped (`\\/`, `\n`) takes the plain path: JSON, then `str.find`;
- OpenRouter style `choices[].message.images[].image_url.url`.

`read_answer()` is synchronous and CPU-bound: run it in the image worker.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass, field
from typing import Any, AnyStr

from bot.domain import Usage
from bot.errors import MalformedAnswer
from bot.gateway.error_body import error_of

#: An image in an answer: its decoded bytes (from a data URL) or an http(s) URL to fetch.
ImageSource = bytes | str

_DATA_PREFIX = "data:image/"
_DATA_PREFIX_BYTES = _DATA_PREFIX.encode()
#: Characters that end a bare data URL inside text.
_DATA_END = (")", '"', "'", " ", "\n", "\r", "\t", "]", ">", "<")
#: The same in raw JSON, plus the backslash that starts an escape.
_BYTES_END = (b")", b'"', b"'", b" ", b"]", b">", b"<", b"\\")
#: Marks a payload already decoded from the raw body; not base64, so never a real one.
_LIFTED = "lifted-"
_LIFTED_BYTES = _LIFTED.encode()


@dataclass(frozen=True, slots=True)
class Answer:
    """The parts of a chat-completion answer the bot uses."""

    sources: list[ImageSource] = field(default_factory=list)
    text: str = ""
    usage: Usage | None = None
    #: The first choice's `finish_reason` (`content_filter`: the model's safety filter).
    finish_reason: str | None = None


def read_answer(body: bytes, max_image_bytes: int) -> Answer:
    """Parse a 200 answer's body; raise `MalformedAnswer` if it is not one."""
    body, lifted = _lift_data_urls(body, max_image_bytes)
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedAnswer(f"answer is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise MalformedAnswer("answer is not a JSON object")
    if isinstance(doc.get("error"), dict):
        raise MalformedAnswer(f"answer carries an error: {error_of(doc).message}")
    choices = doc.get("choices")
    if not isinstance(choices, list) or not choices:
        raise MalformedAnswer("answer has no choices")

    sources: list[ImageSource] = []
    texts: list[str] = []
    first = choices[0]
    finish = first.get("finish_reason") if isinstance(first, dict) else None
    for choice in choices:
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            raise MalformedAnswer("choice has no message")
        for content in _content_texts(message.get("content")):
            text, found = _scan_content(content, max_image_bytes)
            sources.extend(found)
            if text:
                texts.append(text)
        sources.extend(_listed_images(message, max_image_bytes))
    images = [_unlift(source, lifted) for source in sources]
    reason = finish if isinstance(finish, str) else None
    return Answer(images, "\n".join(texts).strip(), _usage(doc.get("usage")), reason)


def _lift_data_urls(body: bytes, max_image_bytes: int) -> tuple[bytes, list[bytes]]:
    """Decode unescaped base64 data URLs in place; the body with markers, and the images."""
    lifted: list[bytes] = []
    pieces: list[bytes] = []
    pos = copied = 0  # where to search next; how much of `body` is in `pieces`
    view = memoryview(body)
    while (start := body.find(_DATA_PREFIX_BYTES, pos)) >= 0:
        comma = body.find(b",", start, start + 100)
        if comma < 0 or body[comma - 7 : comma] != b";base64":
            pos = start + 1
            continue
        end = _first_of(body, _BYTES_END, comma + 1)
        if body[end : end + 1] == b"\\":  # escaped inside: leave it to the JSON path
            pos = end
            continue
        _check_size(end - comma - 1, max_image_bytes)
        lifted.append(_decode(view[comma + 1 : end]))
        pieces += (body[copied : comma + 1], f"{_LIFTED}{len(lifted) - 1}".encode())
        pos = copied = end
    if not lifted:
        return body, lifted
    pieces.append(body[copied:])
    return b"".join(pieces), lifted


def _first_of(data: AnyStr, needles: tuple[AnyStr, ...], start: int) -> int:
    """Where the first of `needles` occurs in `data` from `start` (`len(data)` if none)."""
    end = len(data)
    for needle in needles:
        found = data.find(needle, start, end)
        if found >= 0:
            end = found
    return end


def _unlift(source: ImageSource, lifted: list[bytes]) -> ImageSource:
    """The decoded image a marker stands for; anything else as it is."""
    if isinstance(source, bytes) and source.startswith(_LIFTED_BYTES):
        index = source[len(_LIFTED_BYTES) :]
        if index.isdigit() and int(index) < len(lifted):
            return lifted[int(index)]
        raise MalformedAnswer("data URL is not valid base64")
    return source


def _content_texts(content: object) -> list[str]:
    """The content as text pieces: a string, or the text and image parts of a list."""
    if isinstance(content, str):
        return [content]
    pieces: list[str] = []
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                pieces.append(part["text"])
            url = _image_url(part)
            if url:
                pieces.append(f"![image]({url})")
    return pieces


def _listed_images(message: dict[str, Any], max_image_bytes: int) -> list[ImageSource]:
    images = message.get("images")
    if not isinstance(images, list):
        return []
    found: list[ImageSource] = []
    for item in images:
        url = _image_url(item) if isinstance(item, dict) else None
        if url:
            found.append(_source(url, 0, len(url), max_image_bytes))
    return found


def _image_url(part: dict[str, Any]) -> str | None:
    image_url = part.get("image_url")
    if isinstance(image_url, dict):
        image_url = image_url.get("url")
    return image_url if isinstance(image_url, str) and image_url else None


def _scan_content(content: str, max_image_bytes: int) -> tuple[str, list[ImageSource]]:
    """Find markdown image links and data URLs in `content`, in order of appearance.

    Returns the text with those images cut out, and the images.
    """
    found: list[ImageSource] = []
    kept: list[str] = []
    pos = 0
    while True:
        link = content.find("![", pos)
        data = content.find(_DATA_PREFIX, pos)
        if link < 0 and data < 0:
            break
        if link >= 0 and (data < 0 or link < data):
            target = content.find("](", link + 2)
            end = content.find(")", target + 2) if target >= 0 else -1
            if end < 0:
                kept.append(content[pos : link + 2])
                pos = link + 2
                continue
            start = target + 2
            url_start, url_end = _strip(content, start, end)
            if _is_image_target(content, url_start):
                found.append(_source(content, url_start, url_end, max_image_bytes))
            kept.append(content[pos:link])
            pos = end + 1
        else:
            end = _first_of(content, _DATA_END, data)
            if _base64_comma(content, data, end) < 0:  # "data:image/" in a sentence: text
                kept.append(content[pos:end])
            else:
                found.append(_source(content, data, end, max_image_bytes))
                kept.append(content[pos:data])
            pos = end
    kept.append(content[pos:])
    return "".join(kept).strip(), found


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    """Bounds of text[start:end] without surrounding spaces or angle brackets."""
    while start < end and text[start] in " <":
        start += 1
    while end > start and text[end - 1] in " >":
        end -= 1
    # A markdown title: ![alt](url "title")
    space = text.find(" ", start, end)
    return start, (space if space >= 0 else end)


def _is_image_target(text: str, start: int) -> bool:
    return text.startswith(("http://", "https://", _DATA_PREFIX), start)


def _source(text: str, start: int, end: int, max_image_bytes: int) -> ImageSource:
    """The image at text[start:end]: decoded bytes for a data URL, else the URL."""
    if not text.startswith("data:", start):
        return text[start:end]
    comma = _base64_comma(text, start, end)
    if comma < 0:
        raise MalformedAnswer("data URL is not base64")
    if text.startswith(_LIFTED, comma + 1):
        return text[comma + 1 : end].encode()  # decoded already: `_unlift` swaps it back
    _check_size(end - comma - 1, max_image_bytes)
    return _decode(text[comma + 1 : end])


def _base64_comma(text: str, start: int, end: int) -> int:
    """The comma of the `data:…;base64,` URL at text[start:end], or -1 if it is not one."""
    comma = text.find(",", start, min(end, start + 200))
    return comma if comma >= 0 and text.startswith(";base64", comma - 7) else -1


def _decode(payload: str | memoryview) -> bytes:
    """Base64 to bytes (line breaks allowed); `MalformedAnswer` if nothing decodes."""
    try:
        data = binascii.a2b_base64(payload)
    except (binascii.Error, ValueError) as exc:
        raise MalformedAnswer(f"data URL is not valid base64: {exc}") from None
    if not data:
        raise MalformedAnswer("data URL is empty")
    return data


def _check_size(base64_length: int, max_image_bytes: int) -> None:
    if base64_length * 3 // 4 > max_image_bytes:
        raise MalformedAnswer("inline image is larger than the size limit")


def _usage(raw: object) -> Usage | None:
    if not isinstance(raw, dict):
        return None

    def number(key: str) -> int | None:
        value = raw.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    usage = Usage(number("prompt_tokens"), number("completion_tokens"), number("total_tokens"))
    return usage if usage != Usage() else None

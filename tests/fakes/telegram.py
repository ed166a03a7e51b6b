"""A fake Telegram Bot API server for tests and benchmarks.

`FakeTelegram` is a real HTTP server (aiohttp, bound to 127.0.0.1 on a free port) that speaks
the Bot API closely enough for python-telegram-bot's own `Bot` / `Application` to run against it
unchanged::

    async with FakeTelegram(token=TOKEN) as fake:
        bot = Bot(TOKEN, base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot")
        ann = fake.user(1, "Ann")
        fake.send_text(ann, fake.private_chat(ann), "/start")
        ...
        await fake.wait_for("sendMessage")

Tests play the users (``send_text``, ``send_photo``, ``press_button`` ...), the bot talks
HTTP, and every API call is recorded as a `Call` that tests can inspect or `wait_for`.

What is faithful
----------------
* Transport: ``POST /bot<token>/<method>`` with form-urlencoded, multipart (files as parts or
  ``attach://`` references), JSON bodies or GET query strings; JSON-encoded complex fields;
  ``{"ok": ..., "result" | "error_code" + "description" [+ "parameters"]}`` answers whose HTTP
  status is the error code; 401 for a wrong token, 404 for an unknown method; files served at
  ``GET /file/bot<token>/<file_path>``.
* getUpdates is real long polling (event driven): offsets confirm updates, a negative offset
  keeps the tail, ``allowed_updates`` persists between calls and defaults to "everything but
  chat_member, message_reaction and message_reaction_count", a second concurrent poll ends the
  first with 409, and getUpdates answers 409 while a webhook is set.
* Webhooks: updates are POSTed as JSON to the webhook URL (with the secret-token header),
  concurrently up to ``max_connections``.
* Telegram's limits and error texts: photo uploads over 10 MB (413), photo dimensions
  (w + h <= 10000, ratio <= 20), undecodable images, document uploads over 50 MB (413),
  getFile over 20 MB, text over 4096 and captions over 1024 characters, empty texts,
  ``callback_data`` over 64 bytes, unknown reply targets, editing/deleting unknown messages,
  "message is not modified", invalid bot commands, blocked users (403).
* Formatting: HTML, MarkdownV2 and legacy Markdown are parsed by ports of TDLib's parsers, with
  TDLib's error messages ("can't parse entities: ..."), and produce entities whose offsets and
  lengths are in UTF-16 code units. Leading/trailing whitespace is trimmed as Telegram does.
  Mentions, bot commands, hashtags and http(s) URLs are detected automatically, in the bot's
  messages and in the users' messages this fake pushes.
* Photos: sendPhoto answers a real <= 90 px JPEG thumbnail size plus the full size; identical
  bytes share a ``file_unique_id``; dimensions honour the EXIF orientation.

What is simplified
------------------
* The full-size photo is stored exactly as uploaded; real Telegram re-encodes it as JPEG and
  caps it at 2560 px, with up to four intermediate sizes.
* No built-in flood control: use `FakeTelegram.fail_next` to answer 429s.
* Privacy mode is not simulated: every pushed update is delivered, groups included.
* Webhook URLs may be plain http and any port; failed webhook deliveries are recorded but not
  retried (the update is dropped).
* URL-like files (``photo="https://..."``) are refused with "wrong file identifier/HTTP URL
  specified"; only uploads and known file_ids work.
* Documents get no thumbnail, GIF documents do not become animations, and message replies to
  other chats (``reply_parameters.chat_id``) are treated as same-chat replies.
* Only a subset of the Bot API exists (see ``_methods``); any other method answers 404 like an
  unknown method would. MarkdownV2 blockquotes support only the plain ``>`` form, and URL
  validation of text links is a simple check rather than TDLib's.
* ``sendMediaGroup``'s "2-10 items" error wording is approximate.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import itertools
import json
import logging
import mimetypes
import re
import socket
import time
import traceback
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Self

import aiohttp
from aiohttp import web
from aiohttp.multipart import (
    BodyPartReader,
    content_disposition_filename,
    parse_content_disposition,
)
from PIL import Image, ImageOps, UnidentifiedImageError

JsonDict = dict[str, Any]

_LOG = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Telegram limits and answers
# --------------------------------------------------------------------------------------------

MB = 1024 * 1024
PHOTO_UPLOAD_LIMIT = 10 * MB
DOCUMENT_UPLOAD_LIMIT = 50 * MB
GET_FILE_LIMIT = 20 * MB
PHOTO_MAX_SIDES_SUM = 10_000
PHOTO_MAX_RATIO = 20
THUMB_SIDE = 90
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
MAX_BODY = 256 * MB  # what the server will read at all; Telegram's own limits are checked later

DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
MEDIA_FIELDS = ("photo", "document", "video", "animation", "audio", "voice")

WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


class ApiError(Exception):
    """An error answer of the Bot API: the HTTP status is the error code."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class _DropConnection(Exception):
    """No answer will be sent: `drop_next` asked for it, or the client went away."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


@dataclass
class Call:
    """One Bot API request as the fake saw it.

    ``params`` are decoded (JSON fields parsed, numbers and booleans coerced). ``files`` holds
    the multipart file parts by part name, plus an alias under the field name for fields that
    referenced a part as ``attach://<name>``. ``at`` is the ``time.monotonic()`` of arrival;
    calls are appended to `FakeTelegram.calls` when answered. ``status`` is the HTTP status
    answered, 0 when no answer reached the client (`drop_next`, or the client had gone away).
    ``result`` is a fresh decoding of what was answered on success, ``error`` the description
    otherwise.
    """

    method: str
    params: JsonDict
    files: dict[str, UploadedFile]
    at: float
    status: int = 0
    error: str | None = None
    body: bytes = field(default=b"", repr=False)  # the JSON answered, as sent

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def result(self) -> Any:
        return json.loads(self.body)["result"] if self.ok and self.body else None


@dataclass
class StoredFile:
    """A file the fake server knows, by file_id."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    kind: str  # "photo", "document" or "file" (added by a test, usable as anything)
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    photo: list[JsonDict] | None = None  # the PhotoSize list this photo size belongs to

    @property
    def file_size(self) -> int:
        return len(self.data)

    def identity(self) -> JsonDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }

    def photo_size(self) -> JsonDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": self.file_size,
        }

    def document(self) -> JsonDict:
        doc: JsonDict = {}
        if self.file_name is not None:
            doc["file_name"] = self.file_name
        if self.mime_type is not None:
            doc["mime_type"] = self.mime_type
        doc.update(file_id=self.file_id, file_unique_id=self.file_unique_id)
        doc["file_size"] = self.file_size
        return doc


@dataclass
class _Fault:
    status: int
    description: str
    retry_after: int | None
    remaining: int


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    semaphore: asyncio.Semaphore
    last_error_date: int | None = None
    last_error_message: str | None = None


class _Signal:
    """Broadcast "something changed": waiters wake on the next `notify`, no polling."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, seconds: float | None) -> None:
        """Wait for the next notify, or at most ``seconds``."""
        event = self._event  # taken before suspending, so no notify can be missed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()


# --------------------------------------------------------------------------------------------
# Text: UTF-16 lengths, entity detection, HTML / MarkdownV2 / Markdown parsing
# --------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _char_u16(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


_BOT_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,32}(?![\w@])")
_HASHTAG_RE = re.compile(r"(?<![\w#])#\w{1,256}")
_URL_RE = re.compile(r"(?<![\w/@.])https?://[^\s<>\"']+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}'\""


def detect_entities(text: str) -> list[JsonDict]:
    """The entities Telegram detects by itself: bot_command, mention, hashtag and url."""
    found: list[tuple[int, int, str]] = []
    for kind, regex in (
        ("bot_command", _BOT_COMMAND_RE),
        ("mention", _MENTION_RE),
        ("hashtag", _HASHTAG_RE),
        ("url", _URL_RE),
    ):
        for match in regex.finditer(text):
            start, end = match.span()
            if kind == "url":
                while end > start and text[end - 1] in _URL_TRAILING:
                    end -= 1
            if kind == "hashtag" and text[start + 1 : end].isdigit():
                continue
            found.append((start, end, kind))
    found.sort()
    entities: list[JsonDict] = []
    taken_until = 0
    for start, end, kind in found:
        if start < taken_until:
            continue  # overlaps an earlier entity, e.g. a mention inside a URL
        taken_until = end
        offset = utf16_len(text[:start])
        length = utf16_len(text[start:end])
        entities.append({"offset": offset, "length": length, "type": kind})
    return entities


class EntityParseError(ValueError):
    """Bad markup; str(error) is TDLib's message, without the "can't parse entities" prefix."""


_SPACES = " \t\r\n\0\v\f"
_EOF = "\0"


@dataclass
class _Open:
    kind: str
    argument: str
    offset: int  # UTF-16 offset in the output
    byte_offset: int  # UTF-8 offset in the input, for error messages
    out_len: int  # number of output characters when it opened


class _Output:
    """Output text being built, with its UTF-16 length."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.u16 = 0

    def add(self, text: str) -> None:
        for ch in text:
            self.chars.append(ch)
            self.u16 += _char_u16(ch)

    def since(self, out_len: int) -> str:
        return "".join(self.chars[out_len:])

    def text(self) -> str:
        return "".join(self.chars)


class _Scanner:
    """Shared helpers for the ports of TDLib's parsers (which read a NUL-terminated string)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.out = _Output()
        self.entities: list[JsonDict] = []

    def at(self, i: int) -> str:
        return self.text[i] if i < self.n else _EOF

    def byte_offset(self, i: int) -> int:
        return len(self.text[:i].encode())

    def add_entity(self, kind: str, offset: int, **extra: Any) -> None:
        length = self.out.u16 - offset
        if length > 0:
            self.entities.append({"offset": offset, "length": length, "type": kind, **extra})

    def add_link(self, opened: _Open, url: str, known_users: dict[int, JsonDict]) -> None:
        match = re.fullmatch(r"tg://user\?id=(\d+)", url)
        if match:
            user_id = int(match.group(1))
            user = known_users.get(user_id, {"id": user_id, "is_bot": False, "first_name": ""})
            self.add_entity("text_mention", opened.offset, user=user)
            return
        checked = _check_link(url)
        if checked is not None:
            self.add_entity("text_link", opened.offset, url=checked)

    def skip_pre_newline(self, i: int) -> int:
        if self.at(i) in "\r\n" and self.at(i) != _EOF:
            pair = self.at(i + 1) in "\r\n" and self.at(i + 1) != _EOF
            return i + 2 if pair and self.at(i) != self.at(i + 1) else i + 1
        return i

    def pre_language(self, i: int) -> tuple[str, int]:
        end = i
        while self.at(end) not in _SPACES and self.at(end) != "`":
            end += 1
        if end != i and end < self.n and self.at(end) != "`":
            return self.text[i:end], end
        return "", i


def _check_link(url: str) -> str | None:
    """A much simplified LinkManager::check_link: normalise or refuse a text_link URL."""
    url = url.strip()
    if not url or any(ch in url for ch in ' \n\t<>"'):
        return None
    if "://" not in url and not url.startswith(("tg:", "mailto:")):
        url = "http://" + url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("http", "https"):
        if not parts.netloc:
            return None
        if not parts.path:
            url = urllib.parse.urlunsplit(parts._replace(path="/"))
    return url


_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """TDLib's decode_html_entity: (character, position after it) or None."""
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        hexadecimal = end < n and text[end] == "x"
        end += hexadecimal
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        code = 0
        while end < n and text[end] in digits:
            code = code * (16 if hexadecimal else 10) + int(text[end], 16)
            end += 1
            if code >= 0x10FFFF:
                return None
        if code == 0 or end - pos >= 10 or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        named = _HTML_NAMED.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < n and text[end] == ";":
        end += 1
    return char, end


class _HtmlParser(_Scanner):
    """Port of TDLib's parse_html."""

    def __init__(self, text: str, known_users: dict[int, JsonDict]) -> None:
        super().__init__(text)
        self.known_users = known_users
        self.stack: list[_Open] = []

    def parse(self) -> tuple[str, list[JsonDict]]:
        i = 0
        while i < self.n:
            ch = self.text[i]
            if ch == "&":
                decoded = _decode_html_entity(self.text, i)
                if decoded is not None:
                    self.out.add(decoded[0])
                    i = decoded[1]
                    continue
            if ch != "<":
                self.out.add(ch)
                i += 1
            elif self.at(i + 1) != "/":
                i = self.start_tag(i)
            else:
                i = self.end_tag(i)
        if self.stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].kind}"'
            )
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        return self.out.text(), self.entities

    def skip_spaces(self, i: int) -> int:
        while self.at(i) != _EOF and self.at(i) in _SPACES:
            i += 1
        return i

    def start_tag(self, begin: int) -> int:  # noqa: C901 - a port of TDLib's parser
        at_begin = f"at byte offset {self.byte_offset(begin)}"
        i = begin + 1
        while self.at(i) not in _SPACES and self.at(i) != ">":
            i += 1
        if self.at(i) == _EOF:
            raise EntityParseError(f"Unclosed start tag {at_begin}")
        tag = self.text[begin + 1 : i].lower()
        if tag not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" {at_begin}')
        argument = ""
        while self.at(i) != ">":
            i = self.skip_spaces(i)
            if self.at(i) == ">":
                break
            name_begin = i
            while self.at(i) not in _SPACES and self.at(i) not in "=>":
                i += 1
            name = self.text[name_begin:i]
            if not name:
                raise EntityParseError(f'Empty attribute name in the tag "{tag}" {at_begin}')
            i = self.skip_spaces(i)
            if tag == "blockquote" and name == "expandable" and self.at(i) != "=":
                argument = "1"  # the documented value-less form: <blockquote expandable>
                continue
            if self.at(i) != "=":
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"{at_begin}"
                )
            i = self.skip_spaces(i + 1)
            if self.at(i) == _EOF:
                raise EntityParseError(f'Unclosed start tag "{tag}" {at_begin}')
            value, i = self.attribute_value(i)
            if self.at(i) == _EOF:
                raise EntityParseError(f"Unclosed start tag {at_begin}")
            argument = self.tag_argument(tag, name, value, argument)
        if tag == "span" and argument != "spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" {at_begin}')
        self.stack.append(_Open(tag, argument, self.out.u16, begin, len(self.out.chars)))
        return i + 1

    def attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.at(i)
        if quote not in "'\"":
            begin = i
            while self.at(i).isascii() and (self.at(i).isalnum() or self.at(i) in ".-"):
                i += 1
            if self.at(i) not in _SPACES and self.at(i) != ">":
                raise EntityParseError(
                    f"Unexpected end of name token at byte offset {self.byte_offset(begin)}"
                )
            return self.text[begin:i].lower(), i
        i += 1
        value: list[str] = []
        while self.at(i) != quote and self.at(i) != _EOF:
            if self.at(i) == "&":
                decoded = _decode_html_entity(self.text, i)
                if decoded is not None:
                    value.append(decoded[0])
                    i = decoded[1]
                    continue
            value.append(self.text[i])
            i += 1
        if self.at(i) == quote:
            i += 1
        return "".join(value), i

    @staticmethod
    def tag_argument(tag: str, name: str, value: str, current: str) -> str:
        if tag == "a" and name == "href":
            return value
        if tag == "code" and name == "class" and value.startswith("language-"):
            return value.removeprefix("language-")
        if tag == "span" and name == "class" and value.startswith("tg-"):
            return value.removeprefix("tg-")
        if tag == "tg-emoji" and name == "emoji-id":
            return value
        if tag == "blockquote" and name == "expandable":
            return "1"
        return current

    def end_tag(self, begin: int) -> int:
        at_begin = f"at byte offset {self.byte_offset(begin)}"
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag {at_begin}")
        i = begin + 1
        while self.at(i) not in _SPACES and self.at(i) != ">":
            i += 1
        end_name = self.text[begin + 2 : i]
        while self.at(i) != _EOF and self.at(i) in _SPACES:
            i += 1
        if self.at(i) != ">":
            raise EntityParseError(f"Unclosed end tag {at_begin}")
        opened = self.stack.pop()
        if end_name and end_name != opened.kind:
            raise EntityParseError(
                f'Unmatched end tag {at_begin}, expected "</{opened.kind}>", found "</{end_name}>"'
            )
        self.close(opened)
        return i + 1

    def close(self, opened: _Open) -> None:
        tag, offset = opened.kind, opened.offset
        if self.out.u16 <= offset:
            return
        if tag in _HTML_SIMPLE:
            self.add_entity(_HTML_SIMPLE[tag], offset)
        elif tag == "a":
            url = opened.argument or self.out.since(opened.out_len)
            self.add_link(opened, url, self.known_users)
        elif tag == "tg-emoji":
            if not opened.argument.isdigit():
                raise EntityParseError("Invalid custom emoji identifier specified")
            self.add_entity("custom_emoji", offset, custom_emoji_id=opened.argument)
        elif tag == "code":
            # the language only survives if a <pre> around it turns this into a pre entity
            self.add_entity("code", offset, language=opened.argument)
        elif tag == "pre":
            self.close_pre(offset)
        elif tag == "blockquote":
            kind = "expandable_blockquote" if opened.argument else "blockquote"
            self.add_entity(kind, offset)

    def close_pre(self, offset: int) -> None:
        length = self.out.u16 - offset
        last = self.entities[-1] if self.entities else None
        language = ""
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == offset
            and last["length"] == length
        ):
            language = last.get("language", "")
            self.entities.pop()
        extra = {"language": language} if language else {}
        self.add_entity("pre", offset, **extra)


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


class _MarkdownV2Parser(_Scanner):
    """Port of TDLib's parse_markdown_v2 (blockquotes: only the plain ``>`` form)."""

    def __init__(self, text: str, known_users: dict[int, JsonDict]) -> None:
        super().__init__(text)
        self.known_users = known_users
        self.stack: list[_Open] = []
        self.quote_offset: int | None = None

    def parse(self) -> tuple[str, list[JsonDict]]:
        i = 0
        while i < self.n:
            ch = self.text[i]
            if ch == "\\" and 0 < ord(self.at(i + 1)) <= 126:
                self.out.add(self.text[i + 1])
                i += 2
                continue
            in_code = bool(self.stack) and self.stack[-1].kind in ("code", "pre")
            if ch == ">" and not in_code and (i == 0 or self.text[i - 1] == "\n"):
                if self.quote_offset is None:
                    self.quote_offset = self.out.u16
                i += 1
                continue
            if ch == "\n" and self.quote_offset is not None and self.at(i + 1) != ">":
                self.close_quote()
            if ch not in ("`" if in_code else _MDV2_RESERVED):
                self.out.add(ch)
                i += 1
            elif self.stack and self.is_end(self.stack[-1].kind, i):
                i = self.close(i)
            else:
                i = self.open(i)
        if self.stack:
            opened = self.stack[-1]
            name = (
                "PreCode" if opened.kind == "pre" and opened.argument else _MDV2_NAMES[opened.kind]
            )
            raise EntityParseError(
                f"Can't find end of {name} entity at byte offset {opened.byte_offset}"
            )
        if self.quote_offset is not None:
            self.close_quote()
        return self.out.text(), self.entities

    def close_quote(self) -> None:
        assert self.quote_offset is not None
        self.add_entity("blockquote", self.quote_offset)
        self.quote_offset = None

    def is_end(self, kind: str, i: int) -> bool:
        ch, nxt = self.at(i), self.at(i + 1)
        ends = {
            "bold": ch == "*",
            "italic": ch == "_" and nxt != "_",
            "code": ch == "`",
            "pre": ch == "`" and nxt == "`" and self.at(i + 2) == "`",
            "text_link": ch == "]",
            "custom_emoji": ch == "]",
            "underline": ch == "_" and nxt == "_",
            "strikethrough": ch == "~",
            "spoiler": ch == "|" and nxt == "|",
        }
        return ends[kind]

    def reserved(self, ch: str) -> EntityParseError:
        return EntityParseError(
            f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
        )

    def open(self, i: int) -> int:
        ch, nxt = self.text[i], self.at(i + 1)
        begin = i
        argument = ""
        if ch == "_":
            kind, i = ("underline", i + 2) if nxt == "_" else ("italic", i + 1)
        elif ch in "*~":
            kind, i = ("bold" if ch == "*" else "strikethrough"), i + 1
        elif ch == "|" and nxt == "|":
            kind, i = "spoiler", i + 2
        elif ch == "[":
            kind, i = "text_link", i + 1
        elif ch == "!" and nxt == "[":
            kind, i = "custom_emoji", i + 2
        elif ch == "`" and nxt == "`" and self.at(i + 2) == "`":
            kind = "pre"
            argument, i = self.pre_language(i + 3)
            i = self.skip_pre_newline(i)
        elif ch == "`":
            kind, i = "code", i + 1
        else:
            raise self.reserved(ch)
        self.stack.append(
            _Open(kind, argument, self.out.u16, self.byte_offset(begin), len(self.out.chars))
        )
        return i

    def close(self, i: int) -> int:
        opened = self.stack.pop()
        kind = opened.kind
        if kind in ("underline", "spoiler"):
            i += 2
        elif kind == "pre":
            i += 3
        elif kind in ("text_link", "custom_emoji"):
            return self.close_link(opened, i)
        else:
            i += 1
        extra = {"language": opened.argument} if kind == "pre" and opened.argument else {}
        self.add_entity(kind, opened.offset, **extra)
        return i

    def close_link(self, opened: _Open, i: int) -> int:
        if self.at(i + 1) != "(":
            if opened.kind == "custom_emoji":
                raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
            self.add_link(opened, self.out.since(opened.out_len), self.known_users)
            return i + 1
        i += 2
        url_begin = i
        url: list[str] = []
        while i < self.n and self.text[i] != ")":
            if self.text[i] == "\\" and 0 < ord(self.at(i + 1)) <= 126:
                url.append(self.text[i + 1])
                i += 2
                continue
            url.append(self.text[i])
            i += 1
        if self.at(i) != ")":
            raise EntityParseError(
                f"Can't find end of a URL at byte offset {self.byte_offset(url_begin)}"
            )
        target = "".join(url)
        if opened.kind == "custom_emoji":
            match = re.fullmatch(r"tg://emoji\?id=(\d+)", target)
            if match is None:
                raise EntityParseError("Custom emoji URL must have an emoji identifier")
            self.add_entity("custom_emoji", opened.offset, custom_emoji_id=match.group(1))
        else:
            self.add_link(opened, target, self.known_users)
        return i + 1


class _MarkdownParser(_Scanner):
    """Port of TDLib's parse_markdown (the legacy "Markdown" mode)."""

    def __init__(self, text: str, known_users: dict[int, JsonDict]) -> None:
        super().__init__(text)
        self.known_users = known_users

    def parse(self) -> tuple[str, list[JsonDict]]:
        i = 0
        while i < self.n:
            ch = self.text[i]
            if ch == "\\" and self.at(i + 1) in "_*`[" and self.at(i + 1) != _EOF:
                self.out.add(self.text[i + 1])
                i += 2
            elif ch not in "_*`[":
                self.out.add(ch)
                i += 1
            else:
                i = self.entity(i)
        return self.out.text(), self.entities

    def entity(self, begin: int) -> int:
        ch = self.text[begin]
        end_char = "]" if ch == "[" else ch
        i = begin + 1
        is_pre = False
        language = ""
        if ch == "`" and self.at(i) == "`" and self.at(i + 1) == "`":
            is_pre = True
            language, i = self.pre_language(i + 2)
            i = self.skip_pre_newline(i)
        offset, out_len = self.out.u16, len(self.out.chars)
        while i < self.n and (
            self.text[i] != end_char
            or (is_pre and not (self.at(i + 1) == "`" and self.at(i + 2) == "`"))
        ):
            self.out.add(self.text[i])
            i += 1
        if i == self.n:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {self.byte_offset(begin)}"
            )
        opened = _Open(ch, "", offset, begin, out_len)
        if ch == "[":
            if self.at(i + 1) != "(":
                url = self.text[begin + 1 : i]
            else:
                i += 2
                url_begin = i
                while i < self.n and self.text[i] != ")":
                    i += 1
                url = self.text[url_begin:i]
            if self.out.u16 > offset:
                self.add_link(opened, url, self.known_users)
        elif is_pre:
            self.add_entity("pre", offset, **({"language": language} if language else {}))
            i += 2
        else:
            self.add_entity({"_": "italic", "*": "bold", "`": "code"}[ch], offset)
        return i + 1


def _strip(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Trim whitespace around the text as Telegram does, moving and clipping entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    moved: list[JsonDict] = []
    for entity in entities:
        start = max(0, int(entity["offset"]) - shift)
        end = min(total, int(entity["offset"]) + int(entity["length"]) - shift)
        if end > start:
            moved.append({**entity, "offset": start, "length": end - start})
    return stripped, moved


def _overlaps(a: JsonDict, b: JsonDict) -> bool:
    a_end = a["offset"] + a["length"]
    b_end = b["offset"] + b["length"]
    return bool(a["offset"] < b_end and b["offset"] < a_end)


_OPAQUE_ENTITIES = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


def format_text(
    text: str,
    parse_mode: str | None = None,
    entities: Any = None,
    known_users: dict[int, JsonDict] | None = None,
) -> tuple[str, list[JsonDict]]:
    """Text and entities as Telegram stores them for (text, parse_mode, entities).

    Raises ApiError(400) for bad markup or unknown parse modes.
    """
    users = known_users or {}
    mode = (parse_mode or "").lower()
    parsers: dict[str, type[_HtmlParser | _MarkdownV2Parser | _MarkdownParser]] = {
        "html": _HtmlParser,
        "markdownv2": _MarkdownV2Parser,
        "markdown": _MarkdownParser,
    }
    if mode:
        parser = parsers.get(mode)
        if parser is None:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        try:
            text, explicit = parser(text, users).parse()
        except EntityParseError as exc:
            raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
    else:
        explicit = _entities_param(entities)
    text, explicit = _strip(text, explicit)
    opaque = [e for e in explicit if e["type"] in _OPAQUE_ENTITIES]
    detected = [e for e in detect_entities(text) if not any(_overlaps(e, o) for o in opaque)]
    merged = explicit + detected
    merged.sort(key=lambda e: (e["offset"], -e["length"]))
    return text, merged


def _entities_param(entities: Any) -> list[JsonDict]:
    if entities is None:
        return []
    valid = isinstance(entities, list) and all(
        isinstance(e, dict)
        and isinstance(e.get("type"), str)
        and isinstance(e.get("offset"), int)
        and isinstance(e.get("length"), int)
        for e in entities
    )
    if not valid:
        raise ApiError(400, "Bad Request: can't parse entities JSON object")
    return [dict(e) for e in entities]


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PhotoInfo:
    width: int
    height: int
    thumb: bytes | None  # None when the photo is already thumbnail-sized
    thumb_width: int
    thumb_height: int


_ROTATED_ORIENTATIONS = frozenset({5, 6, 7, 8})


def _probe_photo(data: bytes, *, check_limits: bool) -> _PhotoInfo:
    """Dimensions and a <= 90 px JPEG thumbnail; ApiError(400) as Telegram would answer."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if img.getexif().get(0x0112) in _ROTATED_ORIENTATIONS:
                width, height = height, width
            if check_limits:
                _check_photo_dimensions(width, height)
            if max(width, height) <= THUMB_SIDE:
                return _PhotoInfo(width, height, None, width, height)
            thumb = _thumbnail(img)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED") from None
    return _PhotoInfo(width, height, thumb[0], thumb[1], thumb[2])


def _check_photo_dimensions(width: int, height: int) -> None:
    short, long = sorted((width, height))
    if width + height > PHOTO_MAX_SIDES_SUM or short == 0 or long / short > PHOTO_MAX_RATIO:
        raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")


def _thumbnail(img: Image.Image) -> tuple[bytes, int, int]:
    img.draft("RGB", (THUMB_SIDE, THUMB_SIDE))  # JPEG: decode at a reduced scale, much faster
    small = ImageOps.exif_transpose(img)
    small.thumbnail((THUMB_SIDE, THUMB_SIDE))
    if small.mode not in ("RGB", "L"):
        small = small.convert("RGBA").convert("RGB")
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue(), small.width, small.height


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------

_INT_FIELDS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "reply_to_message_id",
        "message_thread_id",
        "max_connections",
        "cache_time",
        "user_id",
        "from_chat_id",
        "duration",
        "width",
        "height",
    }
)
_FLOAT_FIELDS = frozenset({"timeout"})
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "has_spoiler",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "show_caption_above_media",
        "disable_web_page_preview",
        "allow_paid_broadcast",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "media",
        "link_preview_options",
        "menu_button",
        "message_ids",
        "reaction",
    }
)
_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?\d+(?:\.\d*)?")


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            what = "reply keyboard markup" if name == "reply_markup" else name
            raise ApiError(400, f"Bad Request: can't parse {what} JSON object") from None
    if name == "chat_id" or name in _INT_FIELDS:
        return int(value) if _INT_RE.fullmatch(value) else value
    if name in _FLOAT_FIELDS:
        if _INT_RE.fullmatch(value):
            return int(value)
        return float(value) if _FLOAT_RE.fullmatch(value) else value
    if name in _BOOL_FIELDS:
        lowered = value.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0", ""):
            return False
    return value


async def _read_request(request: web.Request) -> tuple[JsonDict, dict[str, UploadedFile]]:
    """Parameters (decoded) and file parts of a Bot API request, whatever its encoding."""
    raw: JsonDict = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.can_read_body:
        if request.content_type == "multipart/form-data":
            await _read_multipart(request, raw, files)
        elif request.content_type == "application/json":
            body = await request.read()
            decoded = json.loads(body) if body.strip() else {}
            if not isinstance(decoded, dict):
                raise ApiError(400, "Bad Request: JSON object expected")
            raw.update(decoded)
        else:
            body = await request.read()
            raw.update(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    params = {name: _coerce(name, value) for name, value in raw.items()}
    for name, value in params.items():
        if isinstance(value, str) and value.startswith("attach://"):
            part = files.get(value.removeprefix("attach://"))
            if part is not None and name not in files:
                files[name] = part
    return params, files


async def _read_multipart(
    request: web.Request, raw: JsonDict, files: dict[str, UploadedFile]
) -> None:
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        # parse the disposition once: BodyPartReader.name/.filename re-parse it on each access
        _, disposition = parse_content_disposition(
            part.headers.get(aiohttp.hdrs.CONTENT_DISPOSITION)
        )
        name = content_disposition_filename(disposition, "name")
        if not isinstance(part, BodyPartReader) or name is None:
            await part.release()
            continue
        filename = content_disposition_filename(disposition, "filename")
        chunks: list[bytes] = []
        while chunk := await part.read_chunk(1 << 20):
            chunks.append(chunk)
        data = b"".join(chunks)
        content_type = part.headers.get(aiohttp.hdrs.CONTENT_TYPE)
        if filename is None:
            try:
                raw[name] = data.decode(part.get_charset("utf-8"))
                continue
            except (UnicodeDecodeError, LookupError):
                pass
        files[name] = UploadedFile(data, filename, content_type)


def _json_response(body: JsonDict, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode(),
        status=status,
        content_type="application/json",
    )


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------

Handler = Callable[[Call], Awaitable[Any]]
Predicate = Callable[[Call], bool]


def _update_type(update: JsonDict) -> str:
    return next((key for key in update if key != "update_id"), "")


def _chat_type(chat_id: int) -> str:
    """The type of a chat the fake never saw, guessed from its id."""
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


def _without_reply(message: JsonDict) -> JsonDict:
    return {key: value for key, value in message.items() if key != "reply_to_message"}


@dataclass
class Hooks:
    """Where a test or the benchmark watches the fake (httpx's `event_hooks`, in spirit).

    Plain callables, called in order on the fake's event loop; they must not block.
    """

    #: A request whose body has been read and parsed, before the fake works on it.
    request: list[Callable[[Call], None]] = field(default_factory=list)
    #: A request answered (`status`, `body` set), as it is appended to `FakeTelegram.calls`.
    response: list[Callable[[Call], None]] = field(default_factory=list)
    #: The updates one `getUpdates` answer is about to hand out.
    updates: list[Callable[[list[JsonDict]], None]] = field(default_factory=list)
    #: A webhook delivery: `(update, "posting")` as the POST starts, `(update, "answered")`.
    webhook: list[Callable[[JsonDict, str], None]] = field(default_factory=list)


class FakeTelegram:
    """A local Bot API server plus the test-side controls to play users (see module doc)."""

    def __init__(
        self,
        token: str = "123456789:TEST-token_for_FakeTelegram",
        *,
        bot_username: str = "flash_test_bot",
        bot_first_name: str = "Flash",
        host: str = "127.0.0.1",
        keep_uploads: bool = True,
    ) -> None:
        prefix = token.split(":", 1)[0]
        #: Public observation points (see `Hooks`).
        self.hooks = Hooks()
        #: False: recorded calls drop their uploaded bytes (stored files are kept), so a
        #: long benchmark does not grow by every photo it was sent.
        self.keep_uploads = keep_uploads
        self._token = token
        self._bot_id = int(prefix) if prefix.isdigit() else 7_000_000_001
        self._bot_username = bot_username
        self._bot_first_name = bot_first_name
        self._host = host
        self._port = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closing = asyncio.Event()

        # records
        self.calls: list[Call] = []
        self.webhook_deliveries: list[int] = []
        self.downloads: list[str] = []
        self.handler_errors: list[str] = []
        self.get_updates_count = 0
        self._calls_by_method: dict[str, list[Call]] = {}
        self._calls_changed = _Signal()

        # updates
        self._pending: list[JsonDict] = []
        self._next_update_id = 1
        self._updates_changed = _Signal()
        self._poll_generation = 0
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._explicit_allowed_updates: list[str] | None = None
        self._webhook: _Webhook | None = None
        self._tasks: set[asyncio.Task[None]] = set()

        # world state
        self._users: dict[int, JsonDict] = {}
        self._chats: dict[int, JsonDict] = {}
        self._blocked: set[int] = set()
        self._messages: dict[tuple[int, int], JsonDict] = {}
        self._deleted: set[tuple[int, int]] = set()
        self._sent: dict[int, list[JsonDict]] = {}
        self._next_message_id: dict[int, int] = {}
        self._callback_queries: set[str] = set()
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._menu_buttons: dict[int | None, JsonDict] = {}

        # files
        self._files: dict[str, StoredFile] = {}
        #: Local mode (`--local` Bot API server): getFile writes the file here and answers
        #: its absolute path, with no 20 MB limit. None: files are served over HTTP.
        self.local_dir: Path | None = None
        self._files_by_path: dict[str, StoredFile] = {}
        self._blobs: dict[bytes, bytes] = {}
        self._photo_cache: dict[bytes, _PhotoInfo] = {}
        self._ids = itertools.count(1)

        # fault injection
        self._faults: dict[str, list[_Fault]] = {}
        self._drops: dict[str, int] = {}
        self._delays: dict[str, float] = {}

        self._methods: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendMediaGroup": self._send_media_group,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "close": self._return_true,
            "logOut": self._return_true,
        }
        self._canonical = {name.lower(): name for name in self._methods}

    # ---------------------------------------------------------------- lifecycle and identity

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._on_api)
        app.router.add_route("GET", "/file/bot{token}/{file_path:.+}", self._on_file)
        app.router.add_route("*", "/{tail:.*}", self._on_unknown_path)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self._host, 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._closing.clear()

    async def stop(self) -> None:
        """End long polls and delays, cancel webhook deliveries, close the server."""
        self._closing.set()
        self._updates_changed.notify()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Root URL, e.g. http://127.0.0.1:PORT (PTB: base_url=f"{url}/bot")."""
        return f"http://{self._host}:{self._port}"

    @property
    def token(self) -> str:
        return self._token

    @property
    def bot_id(self) -> int:
        return self._bot_id

    @property
    def bot_username(self) -> str:
        return self._bot_username

    @property
    def bot_user(self) -> JsonDict:
        """The bot as it appears in ``from`` of its messages."""
        return {
            "id": self._bot_id,
            "is_bot": True,
            "first_name": self._bot_first_name,
            "username": self._bot_username,
        }

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates not yet confirmed by getUpdates (or dispatched to the webhook)."""
        return list(self._pending)

    @property
    def webhook_url(self) -> str | None:
        return self._webhook.url if self._webhook else None

    # ---------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        description: str = "Too Many Requests: retry after 1",
        retry_after: int | None = 1,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` answer this error instead of being served."""
        fault = _Fault(status, description, retry_after, times)
        self._faults.setdefault(self._canon(method), []).append(fault)

    def delay(self, method: str, seconds: float) -> None:
        """Every call of ``method`` waits ``seconds`` before being served (0 clears)."""
        if seconds > 0:
            self._delays[self._canon(method)] = seconds
        else:
            self._delays.pop(self._canon(method), None)

    def drop_next(self, method: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` are read, then the connection is closed."""
        name = self._canon(method)
        self._drops[name] = self._drops.get(name, 0) + times

    def block(self, chat_id: int) -> None:
        """The user blocked the bot (or the bot was kicked): sends to the chat answer 403."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    # ---------------------------------------------------------------- test side: the world

    def user(
        self,
        user_id: int,
        first_name: str = "Ann",
        username: str | None = None,
        language_code: str | None = "en",
    ) -> JsonDict:
        """A Telegram User (and remember it)."""
        user: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username is not None:
            user["username"] = username
        if language_code is not None:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def private_chat(self, user: JsonDict) -> JsonDict:
        chat: JsonDict = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        if "username" in user:
            chat["username"] = user["username"]
        self._chats[chat["id"]] = chat
        return chat

    def group_chat(
        self, chat_id: int = -100123, title: str = "Group", type: str = "supergroup"
    ) -> JsonDict:
        chat: JsonDict = {"id": chat_id, "title": title, "type": type}
        self._chats[chat_id] = chat
        return chat

    def add_file(
        self, data: bytes, *, file_name: str | None = None, mime_type: str | None = None
    ) -> JsonDict:
        """Store bytes as a file usable anywhere; answers its identity (with file_path)."""
        stored = self._store_file(data, kind="file", file_name=file_name, mime_type=mime_type)
        return stored.identity()

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].data

    # ---------------------------------------------------------------- test side: users act

    def send_text(
        self,
        user: JsonDict,
        chat: JsonDict,
        text: str,
        *,
        reply_to: JsonDict | None = None,
        push: bool = True,
    ) -> JsonDict:
        """A user writes ``text`` (entities detected as a Telegram client would)."""
        fields: JsonDict = {"text": text}
        entities = detect_entities(text)
        if entities:
            fields["entities"] = entities
        return self.send_message(user, chat, reply_to=reply_to, push=push, **fields)

    def send_photo(
        self,
        user: JsonDict,
        chat: JsonDict,
        image: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        reply_to: JsonDict | None = None,
        push: bool = True,
    ) -> JsonDict:
        """A user sends a photo; ``image`` must be bytes Pillow can open."""
        try:
            sizes = self._store_photo(image, self._photo_info(image, check_limits=False)[1])
        except ApiError as exc:
            raise ValueError(f"send_photo needs an image Pillow can open: {exc}") from exc
        fields: JsonDict = {"photo": sizes}
        fields.update(self._user_caption(caption, media_group_id))
        return self.send_message(user, chat, reply_to=reply_to, push=push, **fields)

    def send_document(
        self,
        user: JsonDict,
        chat: JsonDict,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        media_group_id: str | None = None,
        reply_to: JsonDict | None = None,
        push: bool = True,
    ) -> JsonDict:
        stored = self._store_file(data, kind="document", file_name=file_name, mime_type=mime_type)
        fields: JsonDict = {"document": stored.document()}
        fields.update(self._user_caption(caption, media_group_id))
        return self.send_message(user, chat, reply_to=reply_to, push=push, **fields)

    def send_message(
        self,
        user: JsonDict,
        chat: JsonDict,
        *,
        reply_to: JsonDict | None = None,
        push: bool = True,
        **fields: Any,
    ) -> JsonDict:
        """A user message with arbitrary content fields (sticker=..., voice=..., ...).

        Answers the Message when pushed, else the Update (without update_id) to push later.
        """
        self._users.setdefault(user["id"], user)
        self._chats.setdefault(chat["id"], chat)
        message: JsonDict = {
            "message_id": self._allocate_message_id(chat["id"]),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }
        if reply_to is not None:
            current = self._messages.get((reply_to["chat"]["id"], reply_to["message_id"]))
            message["reply_to_message"] = _without_reply(current or reply_to)
        message.update(fields)
        self._register_message(message)
        update = self.make_update(message=message)
        if not push:
            return update
        self.push_update(update)
        return message

    def edit_text(self, message: JsonDict, text: str, *, push: bool = True) -> JsonDict:
        """A user edits their text message: pushes an edited_message update."""
        key = (message["chat"]["id"], message["message_id"])
        edited = {**self._messages.get(key, message), "text": text, "edit_date": int(time.time())}
        edited.pop("entities", None)
        entities = detect_entities(text)
        if entities:
            edited["entities"] = entities
        self._messages[key] = edited
        update = self.make_update(edited_message=edited)
        if not push:
            return update
        self.push_update(update)
        return edited

    def press_button(
        self, user: JsonDict, message: JsonDict, data: str, *, push: bool = True
    ) -> JsonDict:
        """A user presses the inline button carrying ``data`` under ``message``.

        Answers the CallbackQuery (the Update when ``push=False``). Raises ValueError when the
        message (in its current, possibly edited, state) has no such button.
        """
        key = (message["chat"]["id"], message["message_id"])
        current = self._messages.get(key, message)
        keyboard = (current.get("reply_markup") or {}).get("inline_keyboard")
        if key in self._deleted or not keyboard:
            raise ValueError(f"message {key} has no inline keyboard to press")
        if not any(button.get("callback_data") == data for row in keyboard for button in row):
            raise ValueError(f"message {key} has no button with callback_data={data!r}")
        query_id = str(4_000_000_000_000_000_000 + next(self._ids))
        self._callback_queries.add(query_id)
        query: JsonDict = {
            "id": query_id,
            "from": user,
            "message": dict(current),  # a snapshot: later edits do not change queued updates
            "chat_instance": str((key[0] * 7919 + self._bot_id) & 0x7FFFFFFFFFFFFFFF),
            "data": data,
        }
        update = self.make_update(callback_query=query)
        if not push:
            return update
        self.push_update(update)
        return query

    @staticmethod
    def make_update(**fields: JsonDict) -> JsonDict:
        """An Update without update_id, e.g. make_update(message=...)."""
        if len(fields) != 1:
            raise ValueError("an update carries exactly one of message, callback_query, ...")
        return dict(fields)

    def push_update(self, update: JsonDict) -> JsonDict:
        """Queue one raw update (update_id assigned if missing); answers it."""
        self.push_updates([update])
        return update

    def push_updates(self, updates: Iterable[JsonDict]) -> list[JsonDict]:
        """Queue several updates at once: one waiting getUpdates answers them together."""
        pushed = list(updates)
        for update in pushed:
            if "update_id" in update:
                self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
            else:
                update["update_id"] = self._next_update_id
                self._next_update_id += 1
            for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
                if key in update:
                    self._register_message(update[key])
            out_of_order = (
                bool(self._pending) and self._pending[-1]["update_id"] > update["update_id"]
            )
            self._pending.append(update)
            if out_of_order:
                self._pending.sort(key=lambda u: int(u["update_id"]))
        self._updates_changed.notify()
        if self._webhook is not None:
            self._dispatch_to_webhook()
        return pushed

    # ---------------------------------------------------------------- test side: records

    def calls_of(self, method: str) -> list[Call]:
        return list(self._calls_by_method.get(self._canon(method), []))

    async def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        where: Predicate | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline is the point of this helper
    ) -> list[Call]:
        """Wait until at least ``count`` calls of ``method`` matching ``where`` were answered."""
        name = self._canon(method)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            calls = self._calls_by_method.get(name, [])
            matching = [c for c in calls if where is None or where(c)]
            if len(matching) >= count:
                return matching
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} {name} call(s)"
                    f"{' matching the predicate' if where else ''} within {timeout}s, "
                    f"saw {len(matching)}; calls: {self.summary()}"
                )
            await self._calls_changed.wait(remaining)

    async def wait_for_sent(
        self,
        chat_id: int,
        *,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline is the point of this helper
    ) -> list[JsonDict]:
        """Wait until the bot has sent ``count`` messages to ``chat_id``; answers them all."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.sent_messages(chat_id)) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} message(s) sent to {chat_id} within {timeout}s, got "
                    f"{len(self.sent_messages(chat_id))}; calls: {self.summary()}"
                )
            await self._calls_changed.wait(remaining)
        return self.sent_messages(chat_id)

    def summary(self, last: int = 40) -> str:
        """A one-line digest of the last calls, for assertion messages."""
        parts = []
        for call in self.calls[-last:]:
            outcome = str(call.status) if call.ok else f"{call.status} {call.error or ''}".strip()
            parts.append(f"{call.method}({outcome})")
        skipped = len(self.calls) - len(parts)
        return (f"... {skipped} earlier, " if skipped > 0 else "") + ", ".join(parts or ["none"])

    def sent_messages(self, chat_id: int, *, include_deleted: bool = True) -> list[JsonDict]:
        """Messages the bot sent to ``chat_id``, in order, in their current (edited) state."""
        sent = self._sent.get(chat_id, [])
        if include_deleted:
            return list(sent)
        return [m for m in sent if (chat_id, m["message_id"]) not in self._deleted]

    def message(self, chat_id: int, message_id: int) -> JsonDict | None:
        """The current state of any message the fake knows."""
        return self._messages.get((chat_id, message_id))

    def is_deleted(self, chat_id: int, message_id: int) -> bool:
        return (chat_id, message_id) in self._deleted

    async def drain_webhook(self) -> None:
        """Wait until every webhook delivery under way has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ---------------------------------------------------------------- HTTP plumbing

    def _canon(self, method: str) -> str:
        return self._canonical.get(method.lower(), method)

    async def _on_api(self, request: web.Request) -> web.StreamResponse:
        call = Call(self._canon(request.match_info["method"]), {}, {}, time.monotonic())
        try:
            result = await self._serve(request, call)
            response = _json_response({"ok": True, "result": result})
        except ApiError as exc:
            response = _json_response(exc.body(), exc.status)
            call.error = exc.description
        except _DropConnection as exc:
            call.error = exc.reason
            self._record(call)
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=499)  # never reaches the client
        except Exception as exc:  # noqa: BLE001 - a handler bug must not kill the server
            detail = "".join(traceback.format_exception(exc))
            _LOG.error("FakeTelegram: %s failed:\n%s", call.method, detail)
            self.handler_errors.append(detail)
            call.error = f"Internal Server Error: {exc!r}"
            response = _json_response(
                {"ok": False, "error_code": 500, "description": call.error}, 500
            )
        call.status = response.status
        call.body = response.body if isinstance(response.body, bytes) else b""
        if request.transport is None or request.transport.is_closing():
            # e.g. a long poll PTB cancelled at shutdown: nobody will read this answer
            call.status, call.error = 0, "the client disconnected before the answer"
        self._record(call)
        return response

    async def _serve(self, request: web.Request, call: Call) -> Any:
        try:
            call.params, call.files = await _read_request(request)
        except ValueError as exc:
            raise ApiError(400, f"Bad Request: can't parse request: {exc}") from None
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, "Request Entity Too Large") from None
        except (aiohttp.ClientPayloadError, ConnectionError, asyncio.IncompleteReadError):
            raise _DropConnection("the client disconnected during the upload") from None
        for hook in self.hooks.request:
            hook(call)
        if request.match_info["token"] != self._token:
            raise ApiError(401, "Unauthorized")
        handler = self._methods.get(call.method)
        if handler is None:
            raise ApiError(404, "Not Found")
        if self._drops.get(call.method, 0) > 0:
            self._drops[call.method] -= 1
            raise _DropConnection("dropped by drop_next")
        delay = self._delays.get(call.method, 0.0)
        if delay > 0:
            await self._sleep(delay)
        self._raise_fault(call.method)
        return await handler(call)

    def _raise_fault(self, method: str) -> None:
        faults = self._faults.get(method)
        if not faults:
            return
        fault = faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            faults.pop(0)
        raise ApiError(fault.status, fault.description, fault.retry_after)

    def _record(self, call: Call) -> None:
        if not self.keep_uploads:
            call.files = {}
        for hook in self.hooks.response:
            hook(call)
        if call.method == "getUpdates":
            self.get_updates_count += 1
        self.calls.append(call)
        self._calls_by_method.setdefault(call.method, []).append(call)
        self._calls_changed.notify()

    async def _sleep(self, seconds: float) -> None:
        """asyncio.sleep that `stop` cuts short."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closing.wait()

    async def _on_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self._token:
            return _json_response(ApiError(401, "Unauthorized").body(), 401)
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return _json_response(ApiError(404, "Not Found").body(), 404)
        self.downloads.append(stored.file_path)
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)

    async def _on_unknown_path(self, request: web.Request) -> web.StreamResponse:
        return _json_response(ApiError(404, "Not Found").body(), 404)

    # ---------------------------------------------------------------- world helpers

    def _allocate_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _register_message(self, message: JsonDict) -> None:
        chat = message["chat"]
        self._chats.setdefault(chat["id"], chat)
        sender = message.get("from")
        if sender is not None and not sender.get("is_bot"):
            self._users.setdefault(sender["id"], sender)
        message_id = int(message["message_id"])
        self._messages[(chat["id"], message_id)] = message
        self._next_message_id[chat["id"]] = max(
            self._next_message_id.get(chat["id"], 1), message_id + 1
        )

    def _user_caption(self, caption: str | None, media_group_id: str | None) -> JsonDict:
        fields: JsonDict = {}
        if media_group_id is not None:
            fields["media_group_id"] = media_group_id
        if caption is not None:
            fields["caption"] = caption
            entities = detect_entities(caption)
            if entities:
                fields["caption_entities"] = entities
        return fields

    def _chat(self, params: JsonDict) -> JsonDict:
        """The target chat of a send: 400 if absent or unknown by username, 403 if blocked."""
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(chat_id, str):
            username = chat_id.removeprefix("@")
            chat = next((c for c in self._chats.values() if c.get("username") == username), None)
            if chat is None:
                raise ApiError(400, "Bad Request: chat not found")
        elif isinstance(chat_id, int) and not isinstance(chat_id, bool):
            chat = self._chats.setdefault(chat_id, {"id": chat_id, "type": _chat_type(chat_id)})
        else:
            raise ApiError(400, "Bad Request: chat not found")
        if chat["id"] in self._blocked:
            raise ApiError(403, self._blocked_description(chat))
        return chat

    @staticmethod
    def _blocked_description(chat: JsonDict) -> str:
        kind = chat.get("type")
        if kind == "private":
            return "Forbidden: bot was blocked by the user"
        if kind == "channel":
            return "Forbidden: bot is not a member of the channel chat"
        return f"Forbidden: bot was kicked from the {kind} chat"

    def _reply_target(self, chat_id: int, params: JsonDict) -> JsonDict | None:
        parameters = params.get("reply_parameters")
        if isinstance(parameters, dict):
            message_id = parameters.get("message_id")
            allow_missing = bool(parameters.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
            allow_missing = bool(params.get("allow_sending_without_reply"))
        else:
            return None
        key = (chat_id, message_id if isinstance(message_id, int) else -1)
        target = self._messages.get(key)
        if target is None or key in self._deleted:
            if allow_missing:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return _without_reply(target)

    @staticmethod
    def _reply_markup(params: JsonDict) -> JsonDict | None:
        """The validated markup; only inline keyboards are echoed in messages, as Telegram."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        keyboard = markup.get("inline_keyboard")
        if keyboard is None:
            return None
        if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
            raise ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array')
        for row in keyboard:
            for button in row:
                _check_inline_button(button)
        return markup

    def _formatted(
        self, params: JsonDict, *, text_field: str, entities_field: str
    ) -> tuple[str, list[JsonDict]]:
        raw = params.get(text_field)
        text = "" if raw is None else str(raw)
        return format_text(text, params.get("parse_mode"), params.get(entities_field), self._users)

    def _caption_fields(self, params: JsonDict) -> JsonDict:
        caption, entities = self._formatted(
            params, text_field="caption", entities_field="caption_entities"
        )
        if len(caption) > CAPTION_LIMIT:
            raise ApiError(400, "Bad Request: message caption is too long")
        fields: JsonDict = {}
        if caption:
            fields["caption"] = caption
            if entities:
                fields["caption_entities"] = entities
        if params.get("show_caption_above_media"):
            fields["show_caption_above_media"] = True
        return fields

    def _bot_message(self, chat: JsonDict, params: JsonDict, content: JsonDict) -> JsonDict:
        """Create, store and answer a message the bot sends (validation done by the caller)."""
        message: JsonDict = {
            "message_id": self._allocate_message_id(chat["id"]),
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
        }
        if isinstance(params.get("message_thread_id"), int):
            message["message_thread_id"] = params["message_thread_id"]
        reply = self._reply_target(chat["id"], params)
        if reply is not None:
            message["reply_to_message"] = reply
        message.update(content)
        if params.get("protect_content"):
            message["has_protected_content"] = True
        markup = self._reply_markup(params)
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[(chat["id"], message["message_id"])] = message
        self._sent.setdefault(chat["id"], []).append(message)
        return message

    def _check_send(self, params: JsonDict) -> JsonDict:
        """Validate what every send shares before anything is stored; answers the chat."""
        chat = self._chat(params)
        self._reply_target(chat["id"], params)
        self._reply_markup(params)
        return chat

    # ---------------------------------------------------------------- files

    def _store_file(
        self,
        data: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        digest: bytes | None = None,
        width: int = 0,
        height: int = 0,
    ) -> StoredFile:
        digest = digest or hashlib.sha256(data).digest()
        data = self._blobs.setdefault(digest, data)
        number = next(self._ids)
        prefix = {"photo": "AgAC", "document": "BQAC"}.get(kind, "BAAC")
        unique_prefix = {"photo": "AQAD", "document": "AgAD"}.get(kind, "AwAD")
        suffix = PurePosixPath(file_name).suffix if file_name else ""
        folder = "photos" if kind == "photo" else "documents"
        stored = StoredFile(
            file_id=f"{prefix}{number:06d}{base64.urlsafe_b64encode(digest[8:20]).decode()}",
            file_unique_id=unique_prefix + base64.urlsafe_b64encode(digest[:9]).decode(),
            data=data,
            file_path=f"{folder}/file_{number}{suffix or ('.jpg' if kind == 'photo' else '')}",
            kind=kind,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _photo_info(self, data: bytes, *, check_limits: bool) -> tuple[bytes, _PhotoInfo]:
        """(sha256, info), cached by content: benchmarks send the same image many times."""
        digest = hashlib.sha256(data).digest()
        info = self._photo_cache.get(digest)
        if info is None:
            info = _probe_photo(data, check_limits=check_limits)
        elif check_limits:
            _check_photo_dimensions(info.width, info.height)
        return digest, info

    def _store_photo(self, data: bytes, info: _PhotoInfo) -> list[JsonDict]:
        """Store a photo's sizes; answers the PhotoSize list (thumbnail first)."""
        digest = hashlib.sha256(data).digest()
        self._photo_cache[digest] = info
        stored: list[StoredFile] = []
        if info.thumb is not None:
            stored.append(
                self._store_file(
                    info.thumb, kind="photo", width=info.thumb_width, height=info.thumb_height
                )
            )
        # Simplification: real Telegram re-encodes the full size (JPEG, <= 2560 px); here its
        # bytes are exactly the uploaded ones, so downloads compare equal to uploads.
        stored.append(
            self._store_file(
                data, kind="photo", digest=digest, width=info.width, height=info.height
            )
        )
        sizes = [size.photo_size() for size in stored]
        for size in stored:
            size.photo = sizes
        return sizes

    def _input_file(self, call: Call, field_name: str) -> UploadedFile | StoredFile:
        """The upload or the known file a field designates; 400 as Telegram otherwise."""
        value = call.params.get(field_name)
        upload = call.files.get(field_name)
        if upload is not None:
            return upload
        if value is None or value == "":
            raise ApiError(400, f"Bad Request: there is no {field_name} in the request")
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        raise ApiError(400, WRONG_FILE)

    async def _photo_sizes(self, source: UploadedFile | StoredFile) -> list[JsonDict]:
        if isinstance(source, StoredFile):
            if source.photo is not None:
                return source.photo
            if source.kind != "file":
                raise ApiError(400, "Bad Request: can't use file of type Document as Photo")
        if len(source.data) > PHOTO_UPLOAD_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        _, info = await asyncio.to_thread(self._photo_info, source.data, check_limits=True)
        return self._store_photo(source.data, info)

    def _document(self, source: UploadedFile | StoredFile) -> JsonDict:
        if isinstance(source, StoredFile):
            if source.kind == "photo":
                raise ApiError(400, "Bad Request: can't use file of type Photo as Document")
            return source.document()
        if len(source.data) > DOCUMENT_UPLOAD_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        file_name = source.filename or "document"
        mime_type = source.content_type
        if not mime_type or mime_type == "application/octet-stream":
            mime_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        stored = self._store_file(
            source.data, kind="document", file_name=file_name, mime_type=mime_type
        )
        return stored.document()

    # ---------------------------------------------------------------- Bot API: updates

    async def _get_me(self, call: Call) -> JsonDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_allowed_updates(self, allowed: Any) -> None:
        if isinstance(allowed, list):
            self._explicit_allowed_updates = [str(kind) for kind in allowed] or None
            self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES

    def _confirm(self, offset: Any) -> None:
        if not isinstance(offset, int) or isinstance(offset, bool):
            return
        if offset < 0:
            self._pending = self._pending[offset:]
        else:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    def _drop_unwanted(self) -> None:
        self._pending = [u for u in self._pending if _update_type(u) in self._allowed_updates]

    async def _get_updates(self, call: Call) -> list[JsonDict]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        params = call.params
        limit = params.get("limit", 100)
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout", 0)
        timeout = max(float(timeout), 0.0) if isinstance(timeout, int | float) else 0.0
        self._set_allowed_updates(params.get("allowed_updates"))
        self._confirm(params.get("offset"))
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_changed.notify()  # an older poll still waiting loses with 409
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            self._drop_unwanted()
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            remaining = deadline - asyncio.get_running_loop().time()
            if self._pending or remaining <= 0 or self._closing.is_set():
                handed = self._pending[:limit]
                for hook in self.hooks.updates:
                    hook(handed)
                return handed
            await self._updates_changed.wait(remaining)

    async def _set_webhook(self, call: Call) -> bool:
        params = call.params
        url = str(params.get("url") or "")
        if not url:
            self._webhook = None
            return True
        if not url.startswith(("http://", "https://")):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token") or None
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        max_connections = params.get("max_connections", 40)
        if not isinstance(max_connections, int) or not 1 <= max_connections <= 100:
            max_connections = 40
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._set_allowed_updates(params.get("allowed_updates"))
        self._webhook = _Webhook(
            url,
            None if secret is None else str(secret),
            max_connections,
            asyncio.Semaphore(max_connections),
        )
        self._updates_changed.notify()
        self._dispatch_to_webhook()
        return True

    async def _delete_webhook(self, call: Call) -> bool:
        self._webhook = None
        if call.params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _get_webhook_info(self, call: Call) -> JsonDict:
        info: JsonDict = {
            "url": self._webhook.url if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook is not None:
            info["max_connections"] = self._webhook.max_connections
            info["ip_address"] = "127.0.0.1"
            if self._webhook.last_error_date is not None:
                info["last_error_date"] = self._webhook.last_error_date
                info["last_error_message"] = self._webhook.last_error_message
        if self._explicit_allowed_updates is not None:
            info["allowed_updates"] = self._explicit_allowed_updates
        return info

    def _dispatch_to_webhook(self) -> None:
        self._drop_unwanted()
        updates, self._pending = self._pending, []
        for update in updates:
            task = asyncio.get_running_loop().create_task(self._deliver(update))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, update: JsonDict) -> None:
        webhook, session = self._webhook, self._session
        if webhook is None or session is None:
            self._pending.append(update)  # the webhook went away before delivery
            self._pending.sort(key=lambda u: int(u["update_id"]))
            return
        headers = {}
        if webhook.secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        for hook in self.hooks.webhook:
            hook(update, "posting")
        async with webhook.semaphore:
            try:
                async with session.post(webhook.url, json=update, headers=headers) as response:
                    await response.read()
                    status = response.status
                    error = f"Wrong response from the webhook: {status} {response.reason}"
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                status, error = 0, f"Connection failed: {exc!r}"
        self.webhook_deliveries.append(status)
        for hook in self.hooks.webhook:
            hook(update, "answered")
        if not 200 <= status < 300:
            webhook.last_error_date = int(time.time())
            webhook.last_error_message = error

    # ---------------------------------------------------------------- Bot API: sending

    async def _send_message(self, call: Call) -> JsonDict:
        params = call.params
        chat = self._check_send(params)
        text, entities = self._formatted(params, text_field="text", entities_field="entities")
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        content: JsonDict = {"text": text}
        if entities:
            content["entities"] = entities
        return self._bot_message(chat, params, content)

    async def _send_photo(self, call: Call) -> JsonDict:
        chat = self._check_send(call.params)
        caption = self._caption_fields(call.params)
        sizes = await self._photo_sizes(self._input_file(call, "photo"))
        content: JsonDict = {"photo": sizes, **caption}
        if call.params.get("has_spoiler"):
            content["has_media_spoiler"] = True
        return self._bot_message(chat, call.params, content)

    async def _send_document(self, call: Call) -> JsonDict:
        chat = self._check_send(call.params)
        caption = self._caption_fields(call.params)
        document = self._document(self._input_file(call, "document"))
        return self._bot_message(chat, call.params, {"document": document, **caption})

    async def _send_media_group(self, call: Call) -> list[JsonDict]:
        params = call.params
        chat = self._check_send(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: media group must contain 2-10 items")
        contents = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "document"):
                raise ApiError(400, "Bad Request: FakeTelegram supports photo and document media")
            contents.append(await self._media_content(call, item))
        group_id = str(13_000_000_000_000_000 + next(self._ids))
        reply_params = {k: v for k, v in params.items() if k != "reply_markup"}
        return [
            self._bot_message(chat, reply_params, {"media_group_id": group_id, **content})
            for content in contents
        ]

    async def _media_content(self, call: Call, item: JsonDict) -> JsonDict:
        kind = str(item["type"])
        reference = item.get("media")
        if isinstance(reference, str) and reference.startswith("attach://"):
            upload = call.files.get(reference.removeprefix("attach://"))
            if upload is None:
                raise ApiError(400, WRONG_FILE)
            source: UploadedFile | StoredFile = upload
        elif isinstance(reference, str) and reference in self._files:
            source = self._files[reference]
        else:
            raise ApiError(400, WRONG_FILE)
        caption = self._caption_fields(item)
        if kind == "photo":
            content: JsonDict = {"photo": await self._photo_sizes(source)}
            if item.get("has_spoiler"):
                content["has_media_spoiler"] = True
        else:
            content = {"document": self._document(source)}
        return {**content, **caption}

    async def _send_chat_action(self, call: Call) -> bool:
        self._chat(call.params)
        if call.params.get("action") not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _answer_callback_query(self, call: Call) -> bool:
        if call.params.get("callback_query_id") not in self._callback_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(str(call.params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    # ---------------------------------------------------------------- Bot API: editing

    def _editable(self, params: JsonDict) -> JsonDict | None:
        """The bot's message an edit targets (None for inline messages)."""
        if params.get("inline_message_id"):
            return None
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        key = (chat_id, message_id)
        message = self._messages.get(key)
        if message is None or key in self._deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != self._bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _apply_edit(self, message: JsonDict, changes: JsonDict, markup: JsonDict | None) -> None:
        unchanged = all(message.get(k) == v for k, v in changes.items() if v is not None) and all(
            k not in message for k, v in changes.items() if v is None
        )
        if unchanged and message.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())

    async def _edit_message_text(self, call: Call) -> JsonDict | bool:
        message = self._editable(call.params)
        text, entities = self._formatted(call.params, text_field="text", entities_field="entities")
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        markup = self._reply_markup(call.params)
        if message is None:
            return True
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        self._apply_edit(message, {"text": text, "entities": entities or None}, markup)
        return message

    async def _edit_message_caption(self, call: Call) -> JsonDict | bool:
        message = self._editable(call.params)
        caption = self._caption_fields(call.params)
        markup = self._reply_markup(call.params)
        if message is None:
            return True
        if not any(kind in message for kind in MEDIA_FIELDS):
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        changes = {
            "caption": caption.get("caption"),
            "caption_entities": caption.get("caption_entities"),
        }
        self._apply_edit(message, changes, markup)
        return message

    async def _edit_message_reply_markup(self, call: Call) -> JsonDict | bool:
        message = self._editable(call.params)
        markup = self._reply_markup(call.params)
        if message is None:
            return True
        self._apply_edit(message, {}, markup)
        return message

    async def _delete_message(self, call: Call) -> bool:
        key = (call.params.get("chat_id"), call.params.get("message_id"))
        if key not in self._messages or key in self._deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        self._deleted.add(key)
        return True

    # ---------------------------------------------------------------- Bot API: settings, files

    @staticmethod
    def _commands_key(params: JsonDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, call: Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(call.params)
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    async def _delete_my_commands(self, call: Call) -> bool:
        self._commands.pop(self._commands_key(call.params), None)
        return True

    async def _get_my_commands(self, call: Call) -> list[JsonDict]:
        return list(self._commands.get(self._commands_key(call.params), []))

    async def _set_chat_menu_button(self, call: Call) -> bool:
        chat_id = call.params.get("chat_id")
        button = call.params.get("menu_button") or {"type": "default"}
        self._menu_buttons[chat_id if isinstance(chat_id, int) else None] = button
        return True

    async def _get_chat_menu_button(self, call: Call) -> JsonDict:
        chat_id = call.params.get("chat_id")
        key = chat_id if isinstance(chat_id, int) else None
        return self._menu_buttons.get(key) or self._menu_buttons.get(None) or {"type": "commands"}

    async def _get_file(self, call: Call) -> JsonDict:
        stored = self._files.get(str(call.params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if self.local_dir is not None:
            path = self.local_dir / stored.file_unique_id
            path.write_bytes(stored.data)
            return {**stored.identity(), "file_path": str(path.resolve())}
        if stored.file_size > GET_FILE_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return stored.identity()

    async def _get_chat(self, call: Call) -> JsonDict:
        chat_id = call.params.get("chat_id")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11}

    async def _return_true(self, call: Call) -> bool:
        return True


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise ApiError(
            400,
            'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String',
        )
    actions = set(button) - {"text"}
    if not actions:
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
            "inline keyboard",
        )
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and _check_link(str(url)) is None:
        raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")

"""What the fake records and answers: calls, hooks, errors, and Telegram's error texts."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

MB = 1024 * 1024
PHOTO_UPLOAD_LIMIT = 10 * MB
DOCUMENT_UPLOAD_LIMIT = 50 * MB
GET_FILE_LIMIT = 20 * MB
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64

WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
THREAD_NOT_FOUND = "Bad Request: message thread not found"
TOPIC_CLOSED = "Bad Request: TOPIC_CLOSED"
UPGRADED = "Bad Request: group chat was upgraded to a supergroup chat"
PARSE_MODE = "Bad Request: parse_mode not supported by this fake"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
#: What nginx in front of api.telegram.org answers while the Bot API servers are down.
BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class ApiError(Exception):
    """An error answer of the Bot API: the HTTP status is the error code.

    ``parameters`` (ResponseParameters: ``retry_after``, ``migrate_to_chat_id``) are sent
    when given and not None.
    """

    def __init__(self, status: int, description: str, **parameters: int | None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = {k: v for k, v in parameters.items() if v is not None}

    def body(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class DropConnection(Exception):
    """No answer will be sent: `drop_next` asked for it, or the client went away."""


class Down(Exception):
    """The fake is down (`go_down`): nginx answers its 502 page."""


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


@dataclass
class Call:
    """One Bot API request as the fake saw it.

    ``params`` are decoded (JSON fields parsed, numbers and booleans coerced by the Bot API's
    types). ``files`` holds the multipart file parts by part name, plus an alias under the
    field name for fields that referenced a part as ``attach://<name>``. ``at`` is the
    ``time.monotonic()`` of arrival; calls are appended to `FakeTelegram.calls` when
    answered. ``status`` is the HTTP status answered, 0 when no answer reached the client
    (`drop_next`, or the client had gone away). ``result`` is a fresh decoding of what was
    answered on success, ``error`` the description otherwise.
    """

    method: str
    params: JsonDict
    files: dict[str, UploadedFile]
    at: float
    status: int = 0
    error: str | None = None
    body: bytes = field(default=b"", repr=False)  # the answer, as sent

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def result(self) -> Any:
        return json.loads(self.body)["result"] if self.ok and self.body else None


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


class Signal:
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

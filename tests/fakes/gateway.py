"""A fake OpenAI-compatible image gateway: a real aiohttp server on 127.0.0.1.

Usage::

    async with FakeGateway(api_key="test-key") as gw:
        gw.enqueue(markdown(png(), delay=0.5), error(429, retry_after=3))
        ...  # point the bot at gw.url
        [req] = await gw.wait_for_requests(1)
        assert req.prompt == "a corgi"

Routes:

* ``POST /v1/chat/completions`` (exact path; ``//v1/...`` answers a JSON 404) - checks
  ``Authorization: Bearer <api_key>`` (401 otherwise), parses the JSON body (400 otherwise),
  records a :class:`GatewayRequest`, then answers with the next :class:`Reply`: the one chosen by
  ``gw.responder`` if set (and it returns non-None), else the next one from the FIFO filled by
  ``gw.enqueue()``, else ``gw.default`` (a markdown link to a fresh 256x256 PNG).
* ``GET /files/<name>`` - images registered by :meth:`FakeGateway.add_file`, by markdown replies,
  and redirects from :meth:`FakeGateway.add_redirect`. Hits are counted in ``gw.file_hits``.
* Anything else - a JSON 404 / 405 in the gateway's error format.

Answer forms (module-level factories; all take ``delay=`` seconds to wait before answering):

* :func:`markdown` - ``"Here is your image ![image](http://127.0.0.1:PORT/files/i1.png)"``, one
  link per image, each image served by the fake with a sniffed Content-Type.
* :func:`markdown_urls` - markdown links to arbitrary URLs (404 paths, ``file://``...).
* :func:`data_url` - ``"![image](data:image/png;base64,...)"`` (or the bare data URL); the
  body is composed once as bytes, so multi-megabyte images stay cheap to serve.
* :func:`images_field` - OpenRouter style ``message.images = [{"type": "image_url", ...}]``.
* :func:`text` - a plain assistant answer with no image (refusal, question).
* :func:`error` - ``{"error": {"message", "type", "code"}}`` with any status, optional
  ``Retry-After``.
* :func:`raw` - any bytes with any status / content type (malformed JSON, HTML error pages...).
* :func:`hang` - never answers; returns when the client disconnects or the server stops.
* :func:`reset` - status line, headers with a Content-Length, part of the body, then the
  connection is closed.

Success answers are OpenAI chat completions with a ``usage`` object (``usage=None`` omits it).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import itertools
import json
import re
import socket
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType, TracebackType
from typing import Any, Literal, Self

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import CIMultiDict, CIMultiDictProxy

from .images import png

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_USAGE",
    "FakeGateway",
    "GatewayRequest",
    "Reply",
    "data_url",
    "error",
    "hang",
    "images_field",
    "markdown",
    "markdown_urls",
    "raw",
    "reset",
    "sniff_mime",
    "text",
]

DEFAULT_MODEL = "gemini-2.5-flash-image"
DEFAULT_USAGE: Mapping[str, int] = MappingProxyType(
    {"prompt_tokens": 10, "completion_tokens": 1290, "total_tokens": 1300}
)
COMPLETIONS_PATH = "/v1/chat/completions"

ReplyKind = Literal["static", "markdown", "hang", "reset"]

_completion_ids = itertools.count(1)
_BLOB_RE = re.compile(rb"@@FAKEGW-BLOB-(\d+)@@")
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
}


# --------------------------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Reply:
    """One scripted gateway answer. Build it with the module-level factory functions."""

    kind: ReplyKind
    status: int = 200
    body: bytes = field(default=b"", repr=False)
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    # Only for kind == "markdown": images registered as files when the reply is served.
    images: tuple[bytes, ...] = field(default=(), repr=False)
    text: str = ""
    model: str = DEFAULT_MODEL
    usage: Mapping[str, Any] | None = field(default=None, repr=False)
    finish_reason: str | None = "stop"
    # Only for kind == "reset": how many body bytes are sent before the connection is closed.
    partial: int = 0
    description: str = ""

    def delayed(self, seconds: float) -> Reply:
        """Return a copy of this reply that waits ``seconds`` before answering."""
        return replace(self, delay=seconds)


def sniff_mime(data: bytes) -> str:
    """Guess an image MIME type from magic bytes (``application/octet-stream`` if unknown)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
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


def _completion(
    message: Mapping[str, Any],
    *,
    model: str,
    usage: Mapping[str, Any] | None,
    finish_reason: str | None,
) -> dict[str, Any]:
    """Build an OpenAI chat.completion object around one assistant message."""
    out: dict[str, Any] = {
        "id": f"chatcmpl-fake{next(_completion_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": dict(message), "finish_reason": finish_reason}],
    }
    if usage is not None:
        out["usage"] = dict(usage)
    return out


def _blob(index: int) -> str:
    """Return the placeholder that :func:`_dump_with_blobs` replaces with blob ``index``."""
    return f"@@FAKEGW-BLOB-{index}@@"


def _dump_with_blobs(obj: Any, blobs: Sequence[bytes]) -> bytes:
    """JSON-encode ``obj`` and splice raw ``blobs`` (JSON-safe bytes) in place of placeholders.

    The blobs (data URLs: ASCII without quotes or backslashes) are joined in a single pass, so a
    27 MB body is never built as a Python string nor re-encoded.
    """
    parts = _BLOB_RE.split(json.dumps(obj, ensure_ascii=False).encode())
    return b"".join(blobs[int(p)] if i % 2 else p for i, p in enumerate(parts))


def _data_url_bytes(image: bytes, mime: str) -> bytes:
    """Return ``data:<mime>;base64,<...>`` as bytes."""
    return b"data:" + mime.encode("ascii") + b";base64," + base64.b64encode(image)


def _error_body(message: str, type_: str, code: str | int | None) -> bytes:
    """Return the gateway's error JSON."""
    return json.dumps({"error": {"message": message, "type": type_, "code": code}}).encode()


def markdown(
    *images: bytes,
    text: str = "Here is your image",
    delay: float = 0.0,
    usage: Mapping[str, Any] | None = DEFAULT_USAGE,
    model: str = DEFAULT_MODEL,
    finish_reason: str | None = "stop",
) -> Reply:
    """Answer ``text + " ![image](url)"`` per image; each image is served at ``/files/<id>``."""
    return Reply(
        kind="markdown",
        images=tuple(images),
        text=text,
        delay=delay,
        usage=usage,
        model=model,
        finish_reason=finish_reason,
        description=f"markdown({len(images)} image(s))",
    )


def markdown_urls(
    *urls: str,
    text: str = "Here is your image",
    delay: float = 0.0,
    usage: Mapping[str, Any] | None = DEFAULT_USAGE,
    model: str = DEFAULT_MODEL,
    finish_reason: str | None = "stop",
) -> Reply:
    """Answer ``text + " ![image](url)"`` for each of the given exact URLs."""
    content = text + "".join(f" ![image]({u})" for u in urls)
    body = _completion(
        {"role": "assistant", "content": content},
        model=model,
        usage=usage,
        finish_reason=finish_reason,
    )
    return Reply(
        kind="static",
        body=json.dumps(body, ensure_ascii=False).encode(),
        delay=delay,
        description=f"markdown_urls({', '.join(urls)})",
    )


def data_url(
    image: bytes,
    mime: str = "image/png",
    *,
    in_markdown: bool = True,
    text: str = "",
    delay: float = 0.0,
    usage: Mapping[str, Any] | None = DEFAULT_USAGE,
    model: str = DEFAULT_MODEL,
    finish_reason: str | None = "stop",
) -> Reply:
    """Answer with the image inline: ``text + "![image](data:...)"`` or the bare data URL."""
    content = f"{text}![image]({_blob(0)})" if in_markdown else text + _blob(0)
    obj = _completion(
        {"role": "assistant", "content": content},
        model=model,
        usage=usage,
        finish_reason=finish_reason,
    )
    return Reply(
        kind="static",
        body=_dump_with_blobs(obj, [_data_url_bytes(image, mime)]),
        delay=delay,
        description=f"data_url({mime}, {len(image)} bytes, in_markdown={in_markdown})",
    )


def images_field(
    *images: bytes,
    content: str | None = "",
    delay: float = 0.0,
    usage: Mapping[str, Any] | None = DEFAULT_USAGE,
    model: str = DEFAULT_MODEL,
    finish_reason: str | None = "stop",
) -> Reply:
    """Answer OpenRouter style: ``message.images`` holds one data URL per image."""
    message = {
        "role": "assistant",
        "content": content,
        "images": [
            {"type": "image_url", "image_url": {"url": _blob(i)}} for i in range(len(images))
        ],
    }
    obj = _completion(message, model=model, usage=usage, finish_reason=finish_reason)
    blobs = [_data_url_bytes(img, sniff_mime(img)) for img in images]
    return Reply(
        kind="static",
        body=_dump_with_blobs(obj, blobs),
        delay=delay,
        description=f"images_field({len(images)} image(s))",
    )


def text(
    content: str | None,
    *,
    delay: float = 0.0,
    usage: Mapping[str, Any] | None = DEFAULT_USAGE,
    model: str = DEFAULT_MODEL,
    finish_reason: str | None = "stop",
) -> Reply:
    """Answer with assistant text and no image (a refusal or a question)."""
    obj = _completion(
        {"role": "assistant", "content": content},
        model=model,
        usage=usage,
        finish_reason=finish_reason,
    )
    return Reply(
        kind="static",
        body=json.dumps(obj, ensure_ascii=False).encode(),
        delay=delay,
        description=f"text({content!r:.40})",
    )


def error(
    status: int,
    message: str = "upstream error",
    *,
    type: str = "upstream_error",
    code: str | int | None = None,
    retry_after: float | None = None,
    delay: float = 0.0,
) -> Reply:
    """Answer ``status`` with ``{"error": {...}}``; ``Retry-After`` is sent when given."""
    headers: tuple[tuple[str, str], ...] = ()
    if retry_after is not None:
        value = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
        headers = (("Retry-After", value),)
    return Reply(
        kind="static",
        status=status,
        body=_error_body(message, type, code),
        headers=headers,
        delay=delay,
        description=f"error({status}, {message!r})",
    )


def raw(
    body: bytes,
    status: int = 200,
    content_type: str = "application/json",
    *,
    headers: Mapping[str, str] | None = None,
    delay: float = 0.0,
) -> Reply:
    """Answer arbitrary bytes with any status and Content-Type."""
    return Reply(
        kind="static",
        status=status,
        body=body,
        content_type=content_type,
        headers=tuple((headers or {}).items()),
        delay=delay,
        description=f"raw({status}, {content_type}, {len(body)} bytes)",
    )


def hang(*, delay: float = 0.0) -> Reply:
    """Never answer: wait until the client disconnects or the server stops."""
    return Reply(kind="hang", delay=delay, description="hang()")


def reset(*, delay: float = 0.0, sent_fraction: float = 0.5) -> Reply:
    """Send headers (full Content-Length) and part of a completion body, then close."""
    obj = _completion(
        {
            "role": "assistant",
            "content": "Here is your image ![image](https://example.invalid/x.png)",
        },
        model=DEFAULT_MODEL,
        usage=DEFAULT_USAGE,
        finish_reason="stop",
    )
    body = json.dumps(obj).encode()
    cut = max(1, min(len(body) - 1, int(len(body) * sent_fraction)))
    return Reply(
        kind="reset",
        body=body,
        partial=cut,
        delay=delay,
        description="reset()",
    )


# --------------------------------------------------------------------------------------------
# Recorded requests
# --------------------------------------------------------------------------------------------


def _parse_data_url(url: str) -> tuple[str, bytes]:
    """Split a ``data:`` URL into (mime type, decoded bytes)."""
    header, sep, payload = url.partition(",")
    if not header.startswith("data:") or not sep:
        raise ValueError(f"not a data URL: {url[:60]!r}")
    params = header[len("data:") :].split(";")
    mime = params[0].strip().lower() or "text/plain"
    if "base64" in (p.strip().lower() for p in params[1:]):
        return mime, base64.b64decode(payload, validate=True)
    return mime, urllib.parse.unquote_to_bytes(payload)


@dataclass(eq=False)
class GatewayRequest:
    """One recorded call to ``POST /v1/chat/completions`` (any outcome, including 401/400)."""

    index: int
    path: str
    headers: CIMultiDictProxy[str]
    raw: bytes = field(repr=False)
    body: Any = field(repr=False)  # parsed JSON, None when the body is not JSON
    at: float  # time.monotonic() at arrival
    reply: Reply | None = None
    status: int | None = None
    file_urls: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"GatewayRequest(#{self.index} status={self.status} model={self.model!r} "
            f"prompt={self.prompt[:60]!r} images={len(self.image_urls)} "
            f"aspect_ratio={self.aspect_ratio!r} reply={self.reply!r})"
        )

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The ``messages`` list of the body (empty if absent or malformed)."""
        if not isinstance(self.body, dict):
            return []
        msgs = self.body.get("messages")
        return [m for m in msgs if isinstance(m, dict)] if isinstance(msgs, list) else []

    @property
    def prompt(self) -> str:
        """Text of the user messages: string contents and text parts, joined with newlines."""
        texts: list[str] = []
        for msg in self.messages:
            if msg.get("role", "user") != "user":
                continue
            content = msg.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts.extend(
                    str(part.get("text", ""))
                    for part in content
                    if isinstance(part, dict) and part.get("type") == "text"
                )
        return "\n".join(texts)

    @property
    def image_urls(self) -> list[str]:
        """Every ``image_url`` URL in content order (data URLs and plain URLs)."""
        urls: list[str] = []
        for msg in self.messages:
            content = msg.get("content")
            if not isinstance(content, list):
                continue
            for part in content:
                if not isinstance(part, dict) or part.get("type") != "image_url":
                    continue
                ref = part.get("image_url")
                url = ref.get("url") if isinstance(ref, dict) else ref
                if isinstance(url, str):
                    urls.append(url)
        return urls

    @property
    def images(self) -> list[bytes]:
        """Decoded bytes of every ``image_url`` data URL, in content order."""
        return [_parse_data_url(u)[1] for u in self.image_urls if u.startswith("data:")]

    @property
    def image_mimes(self) -> list[str]:
        """MIME types of every ``image_url`` data URL, in content order."""
        return [_parse_data_url(u)[0] for u in self.image_urls if u.startswith("data:")]

    @property
    def model(self) -> str | None:
        """The requested model."""
        value = self.body.get("model") if isinstance(self.body, dict) else None
        return value if isinstance(value, str) else None

    @property
    def aspect_ratio(self) -> str | None:
        """``extra_body.google.image_config.aspect_ratio`` or None."""
        node: Any = self.body
        for key in ("extra_body", "google", "image_config", "aspect_ratio"):
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        return node if isinstance(node, str) else None

    @property
    def authorization(self) -> str | None:
        """The raw Authorization header."""
        return self.headers.get("Authorization")


# --------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _ServedFile:
    """A file answered at ``GET /files/<name>``."""

    data: bytes = field(repr=False)
    content_type: str = "image/png"
    status: int = 200
    delay: float = 0.0
    trickle: float | None = None
    chunk_size: int | None = None
    location: str | None = None  # set for redirects


def _json_error(
    status: int,
    message: str,
    *,
    type_: str,
    code: str | None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """Return a gateway-style JSON error response."""
    resp = web.Response(status=status, body=_error_body(message, type_, code), headers=headers)
    resp.content_type = "application/json"
    return resp


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn aiohttp's plain-text 404/405/413 into the gateway's JSON error format."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        codes = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return _json_error(
            exc.status,
            f"{exc.reason}: {request.method} {request.path}",
            type_="invalid_request_error",
            code=codes.get(exc.status),
            headers=headers,
        )


class FakeGateway:
    """A fake image gateway running on 127.0.0.1 at a free port."""

    def __init__(
        self,
        api_key: str | None = "test-key",
        *,
        default: Reply | None = None,
        max_request_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.api_key = api_key
        self.default: Reply = default if default is not None else markdown(png(256, 256))
        self.responder: Callable[[GatewayRequest], Reply | None] | None = None
        self.requests: list[GatewayRequest] = []
        self.file_hits: collections.Counter[str] = collections.Counter()
        self.max_request_bytes = max_request_bytes
        self._queue: collections.deque[Reply] = collections.deque()
        self._files: dict[str, _ServedFile] = {}
        self._file_ids = itertools.count(1)
        self._cond: asyncio.Condition | None = None
        self._stopping: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> Self:
        """Start the server on 127.0.0.1 at a free port."""
        if self._runner is not None:
            return self
        self._cond = asyncio.Condition()
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=self.max_request_bytes, middlewares=[_json_errors])
        app.router.add_post(COMPLETIONS_PATH, self._completions)
        app.router.add_get("/files/{name}", self._file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        site = web.SockSite(runner, sock, backlog=2048)
        try:
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner
        return self

    async def stop(self) -> None:
        """Stop the server; pending hangs, delays and trickles are cut short."""
        if self._runner is None:
            return
        if self._stopping is not None:
            self._stopping.set()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._port is None:
            raise RuntimeError("FakeGateway is not started")
        return self._port

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def completions_url(self) -> str:
        """Full URL of the chat completions endpoint."""
        return self.url + COMPLETIONS_PATH

    # -- scripting -----------------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        """Append replies to the FIFO used before ``default``."""
        self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """Number of scripted replies not yet used."""
        return len(self._queue)

    def clear(self) -> None:
        """Forget recorded requests, queued replies and file hit counts."""
        self._queue.clear()
        self.requests.clear()
        self.file_hits.clear()

    def add_file(
        self,
        data: bytes,
        *,
        content_type: str = "image/png",
        status: int = 200,
        delay: float = 0.0,
        trickle: float | None = None,
        chunk_size: int | None = None,
    ) -> str:
        """Serve ``data`` at a new ``/files/<id>`` URL and return that absolute URL.

        ``delay`` waits before the headers. ``trickle`` sends the headers at once, then spreads
        the body over that many seconds, pausing before each chunk: chunks of ``chunk_size``
        bytes, by default sized for 20 chunks a second (pauses of ~50 ms, so a per-read timeout
        never fires but a total-download deadline does). Use a large ``chunk_size`` to get
        pauses longer than a client's read timeout.
        """
        name = f"f{next(self._file_ids)}{_EXTENSIONS.get(content_type, '')}"
        self._files[name] = _ServedFile(data, content_type, status, delay, trickle, chunk_size)
        return f"{self.url}/files/{name}"

    def add_redirect(self, location: str, *, status: int = 302) -> str:
        """Serve a redirect to ``location`` at a new ``/files/<id>`` URL and return that URL."""
        name = f"r{next(self._file_ids)}"
        self._files[name] = _ServedFile(b"", "text/plain", status, location=location)
        return f"{self.url}/files/{name}"

    async def wait_for_requests(
        self,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the fake's API
    ) -> list[GatewayRequest]:
        """Wait until at least ``count`` requests were recorded; return the first ``count``."""
        if self._cond is None:
            raise RuntimeError("FakeGateway is not started")
        cond = self._cond
        try:
            async with asyncio.timeout(timeout), cond:
                await cond.wait_for(lambda: len(self.requests) >= count)
        except TimeoutError:
            summary = "\n".join(f"  {r!r}" for r in self.requests) or "  (none)"
            raise AssertionError(
                f"expected {count} gateway request(s) within {timeout}s, "
                f"got {len(self.requests)}:\n{summary}"
            ) from None
        return self.requests[:count]

    @property
    def last_request(self) -> GatewayRequest:
        """The most recent recorded request."""
        if not self.requests:
            raise AssertionError("no gateway request recorded")
        return self.requests[-1]

    # -- handlers ------------------------------------------------------------------------------

    async def _record(self, req: GatewayRequest) -> None:
        """Append a request and wake waiters."""
        assert self._cond is not None
        async with self._cond:
            self.requests.append(req)
            self._cond.notify_all()

    def _next_reply(self, req: GatewayRequest) -> Reply:
        """Pick the reply: responder, then the FIFO, then the default."""
        if self.responder is not None:
            chosen = self.responder(req)
            if chosen is not None:
                return chosen
        if self._queue:
            return self._queue.popleft()
        return self.default

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; return False if it is stopping."""
        assert self._stopping is not None
        if self._stopping.is_set():
            return False
        if seconds <= 0:
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return not self._stopping.is_set()

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Close the connection without an answer."""
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=499)

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        """Handle ``POST /v1/chat/completions``."""
        arrived = time.monotonic()
        payload = await request.read()
        try:
            body: Any = json.loads(payload)
        except ValueError:
            body = None
        req = GatewayRequest(
            index=len(self.requests),
            path=request.path,
            headers=request.headers,
            raw=payload,
            body=body,
            at=arrived,
        )
        await self._record(req)

        if self.api_key is not None and req.authorization != f"Bearer {self.api_key}":
            req.status = 401
            return _json_error(401, "invalid token", type_="new_api_error", code="invalid_api_key")
        if not isinstance(body, dict):
            req.status = 400
            return _json_error(
                400,
                "invalid request body: expected a JSON object",
                type_="invalid_request_error",
                code="invalid_request",
            )

        reply = self._next_reply(req)
        req.reply = reply
        req.status = reply.status
        if not await self._sleep(reply.delay):
            return self._drop(request)

        if reply.kind == "hang":
            await self._wait_for_disconnect(request)
            return self._drop(request)
        if reply.kind == "reset":
            return await self._reset(request, reply)

        body_bytes = reply.body
        if reply.kind == "markdown":
            body_bytes = self._render_markdown(reply, req)
        headers = CIMultiDict(reply.headers)
        headers["Content-Type"] = reply.content_type
        return web.Response(status=reply.status, body=body_bytes, headers=headers)

    def _render_markdown(self, reply: Reply, req: GatewayRequest) -> bytes:
        """Register the reply's images as fresh files and build the completion body."""
        urls = [self.add_file(img, content_type=sniff_mime(img)) for img in reply.images]
        req.file_urls.extend(urls)
        content = reply.text + "".join(f" ![image]({u})" for u in urls)
        obj = _completion(
            {"role": "assistant", "content": content},
            model=reply.model,
            usage=reply.usage,
            finish_reason=reply.finish_reason,
        )
        return json.dumps(obj, ensure_ascii=False).encode()

    async def _wait_for_disconnect(self, request: web.Request) -> None:
        """Return once the client has gone away or the server is stopping."""
        assert self._stopping is not None
        while not self._stopping.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.05):
                    await self._stopping.wait()

    async def _reset(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        """Send headers and part of the body, then close the connection."""
        resp = web.StreamResponse(status=reply.status)
        resp.content_type = reply.content_type
        resp.content_length = len(reply.body)
        try:
            await resp.prepare(request)
            await resp.write(reply.body[: reply.partial])
        except ConnectionError:
            return resp
        await asyncio.sleep(0.01)  # let the partial body reach the socket before closing
        if request.transport is not None:
            request.transport.close()
        return resp

    async def _file(self, request: web.Request) -> web.StreamResponse:
        """Handle ``GET /files/<name>``."""
        name = request.match_info["name"]
        self.file_hits[request.path] += 1
        served = self._files.get(name)
        if served is None:
            return _json_error(
                404, f"file not found: {name}", type_="invalid_request_error", code="not_found"
            )
        if not await self._sleep(served.delay):
            return self._drop(request)
        if served.location is not None:
            return web.Response(status=served.status, headers={"Location": served.location})
        if served.trickle is None or not served.data:
            return web.Response(
                status=served.status,
                body=served.data,
                headers={"Content-Type": served.content_type},
            )
        return await self._trickle(request, served, served.trickle)

    async def _trickle(
        self, request: web.Request, served: _ServedFile, seconds: float
    ) -> web.StreamResponse:
        """Send the file in small chunks spread over ``seconds``."""
        data = served.data
        if served.chunk_size is not None:
            chunk = max(1, served.chunk_size)
        else:
            steps = max(1, min(len(data), round(seconds * 20)))
            chunk = -(-len(data) // steps)
        pause = seconds / -(-len(data) // chunk)
        resp = web.StreamResponse(status=served.status)
        resp.content_type = served.content_type
        resp.content_length = len(data)
        try:
            await resp.prepare(request)
            for offset in range(0, len(data), chunk):
                if not await self._sleep(pause):
                    return self._drop(request)
                await resp.write(data[offset : offset + chunk])
        except ConnectionError:
            return resp
        return resp

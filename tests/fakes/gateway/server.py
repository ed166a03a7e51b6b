"""The fake gateway's server and the requests it records."""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import itertools
import json
import random
import socket
import string
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import CIMultiDict, CIMultiDictProxy

from tests.fakes.images import png

from .replies import (
    DEFAULT_MODEL,
    REQUEST_ID,
    Reply,
    _dump,
    _error,
    invalid_key,
    markdown,
    model_not_found,
    raw,
)

COMPLETIONS_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
#: Listed by ``GET /v1/models``: the bot's two default models (bot.config) and Gemini 3 Pro.
DEFAULT_MODELS = (DEFAULT_MODEL, "gemini-2.5-flash-image-hd", "gemini-3-pro-image-preview")

_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif"}
_EXTENSIONS |= {"image/webp": ".webp", "image/heic": ".heic"}
_ID_CHARS = string.ascii_letters + string.digits
_INDEX_PAGE = '<!doctype html><meta charset="utf-8"><title>New API</title><div id="root"></div>'


def _new_request_id() -> str:
    """A request id the way new-api makes one: UTC time, nanoseconds, 8 random characters."""
    now = time.time_ns()
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now // 1_000_000_000))
    return f"{stamp}{now % 1_000_000_000}{''.join(random.choices(_ID_CHARS, k=8))}"


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
    """One recorded call (any outcome, including the fake's own 401/400/413/503)."""

    index: int
    path: str
    headers: CIMultiDictProxy[str]
    raw: bytes = field(repr=False)
    body: Any = field(repr=False)  # parsed JSON, None when the body is not JSON
    at: float  # time.monotonic() at arrival
    request_id: str = ""  # the X-Oneapi-Request-Id of the answer
    reply: Reply | None = None  # what was answered (one of the fake's refusals, or scripted)
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
        msgs = self.body.get("messages") if isinstance(self.body, dict) else None
        return [m for m in msgs if isinstance(m, dict)] if isinstance(msgs, list) else []

    @property
    def prompt(self) -> str:
        """Text of the user messages: string contents and text parts, joined with newlines."""
        texts: list[str] = []
        for msg in self.messages:
            content = msg.get("content") if msg.get("role", "user") == "user" else None
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
            for part in content if isinstance(content, list) else ():
                if isinstance(part, dict) and part.get("type") == "image_url":
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
            node = node.get(key) if isinstance(node, dict) else None
        return node if isinstance(node, str) else None

    @property
    def authorization(self) -> str | None:
        """The raw Authorization header."""
        return self.headers.get("Authorization")


_REQUEST_ID_KEY = web.RequestKey("request_id", str)


def _request_id(request: web.Request) -> str:
    """The request's new-api request id, made on first use."""
    if _REQUEST_ID_KEY not in request:
        request[_REQUEST_ID_KEY] = _new_request_id()
    return request[_REQUEST_ID_KEY]


async def _add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """Send ``X-Oneapi-Request-Id`` like new-api does (not from the image host)."""
    if not request.path.startswith("/files/"):
        response.headers["X-Oneapi-Request-Id"] = _request_id(request)


@web.middleware
async def _no_route(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer unrouted requests like new-api's NoRoute (gin answers a wrong method the same)."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        if request.raw_path.startswith(("/v1", "/api", "/assets")):
            message = f"Invalid URL ({request.method} {request.path})"
            err = {"message": message, "type": "invalid_request_error", "param": "", "code": ""}
            return web.json_response({"error": err}, status=404)
        return web.Response(
            text=_INDEX_PAGE, content_type="text/html", headers={"Cache-Control": "no-cache"}
        )


class FakeGateway:
    """A fake new-api gateway running on 127.0.0.1 at a free port."""

    def __init__(
        self,
        api_key: str | None = "test-key",
        *,
        default: Reply | None = None,
        max_request_bytes: int = 256 * 1024 * 1024,
        models: Iterable[str] = DEFAULT_MODELS,
        check_models: bool = False,
    ) -> None:
        self.api_key = api_key  # None: any key, or none, is accepted
        self.default: Reply = default if default is not None else markdown(png(256, 256))
        self.responder: Callable[[GatewayRequest], Reply | None] | None = None
        self.requests: list[GatewayRequest] = []  # POST /v1/chat/completions
        self.listings: list[GatewayRequest] = []  # GET /v1/models
        self.file_hits: collections.Counter[str] = collections.Counter()
        self.max_request_bytes = max_request_bytes
        self.models: list[str] = list(models)
        self.check_models = check_models  # refuse (503) a model not in `models`
        self._queue: collections.deque[Reply] = collections.deque()
        self._files: dict[str, Reply] = {}
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
        self._cond, self._stopping = asyncio.Condition(), asyncio.Event()
        app = web.Application(client_max_size=self.max_request_bytes, middlewares=[_no_route])
        app.on_response_prepare.append(_add_request_id)
        app.router.add_post(COMPLETIONS_PATH, self._completions)
        app.router.add_get(MODELS_PATH, self._models)
        app.router.add_get("/files/{name}", self._file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        try:
            await web.SockSite(runner, sock, backlog=2048).start()
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

    async def __aexit__(self, *exc_info: object) -> None:
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

    @property
    def models_url(self) -> str:
        """Full URL of the model list."""
        return self.url + MODELS_PATH

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
        self.listings.clear()
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
        kind: Literal["answer", "trickle"] = "answer" if trickle is None or not data else "trickle"
        self._files[name] = Reply(
            kind,
            status,
            data,
            content_type,
            delay=delay,
            trickle=trickle or 0.0,
            chunk_size=chunk_size,
        )
        return f"{self.url}/files/{name}"

    def add_redirect(self, location: str, *, status: int = 302) -> str:
        """Serve a redirect to ``location`` at a new ``/files/<id>`` URL and return that URL."""
        name = f"r{next(self._file_ids)}"
        self._files[name] = raw(b"", status, "text/plain", headers={"Location": location})
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

    def _recorded(
        self, request: web.Request, log: list[GatewayRequest], raw: bytes, arrived: float
    ) -> GatewayRequest:
        """Record in ``log`` a call that arrived at ``arrived`` (before its body was read)."""
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        req = GatewayRequest(
            len(log), request.path, request.headers, raw, body, arrived, _request_id(request)
        )
        log.append(req)
        return req

    def _authorized(self, req: GatewayRequest) -> bool:
        """Whether the call carries ``Bearer <api_key>`` (any call does when it is None)."""
        return self.api_key is None or req.authorization == f"Bearer {self.api_key}"

    def _refusal(self, req: GatewayRequest, too_large: bool) -> Reply | None:
        """new-api's own checks before it relays a completion, in its order; None: passed."""
        model = req.body.get("model") if isinstance(req.body, dict) else None
        if not self._authorized(req):
            return invalid_key()
        if too_large:
            return _error(
                413, "request body too large", "new_api_error", "read_request_body_failed"
            )
        if req.body is None:
            message = "Invalid request: invalid JSON request body"
            return _error(400, message, "new_api_error", "", relayed=False)
        if not isinstance(model, str) or not model:
            message = "Model name not specified, model name cannot be empty"
            return _error(400, message, "new_api_error", "", relayed=False)
        if self.check_models and model not in self.models:
            return model_not_found(model)
        return None

    def _next_reply(self, req: GatewayRequest) -> Reply:
        """Pick the reply: responder, then the FIFO, then the default."""
        if self.responder is not None and (chosen := self.responder(req)) is not None:
            return chosen
        return self._queue.popleft() if self._queue else self.default

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        """Handle ``POST /v1/chat/completions``."""
        arrived = time.monotonic()
        try:
            payload, too_large = await request.read(), False
        except web.HTTPRequestEntityTooLarge:
            payload, too_large = b"", True
        assert self._cond is not None
        async with self._cond:
            req = self._recorded(request, self.requests, payload, arrived)
            self._cond.notify_all()
        reply = self._refusal(req, too_large) or self._next_reply(req)
        return await self._serve(request, req, reply)

    async def _models(self, request: web.Request) -> web.StreamResponse:
        """Handle ``GET /v1/models``."""
        req = self._recorded(request, self.listings, b"", time.monotonic())
        if not self._authorized(req):
            return await self._serve(request, req, invalid_key())
        data = [
            {"id": m, "object": "model", "created": 1626777600, "owned_by": "custom"}
            | {"supported_endpoint_types": ["openai"]}
            for m in self.models
        ]
        listing = {"success": True, "object": "list", "data": data}
        return await self._serve(request, req, Reply("answer", body=_dump(listing)))

    async def _serve(
        self, request: web.Request, req: GatewayRequest | None, reply: Reply
    ) -> web.StreamResponse:
        """Answer ``reply`` (to ``req``, None for a file)."""
        if req is not None:
            req.reply, req.status = reply, reply.status
        if not await self._sleep(reply.delay):
            return self._drop(request)
        if reply.kind == "hang":
            await self._wait_for_disconnect(request)
            return self._drop(request)
        if reply.kind != "answer":
            return await self._stream(request, reply)
        body = reply.render(self, req) if reply.render and req else reply.body
        if reply.stamped and req is not None:
            body = body.replace(REQUEST_ID.encode(), req.request_id.encode())
        headers = CIMultiDict(reply.headers)
        headers["Content-Type"] = reply.content_type
        return web.Response(status=reply.status, body=body, headers=headers)

    async def _stream(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        """Headers with the full Content-Length, then for ``reset`` the first ``partial`` bytes
        and a closed connection, for ``trickle`` the body in chunks, a pause before each."""
        data, pause = reply.body, 0.0
        if reply.kind == "reset":
            size, end = max(1, reply.partial), reply.partial
        else:
            steps = max(1, min(len(data), round(reply.trickle * 20)))
            size, end = max(1, reply.chunk_size or -(-len(data) // steps)), len(data)
            pause = reply.trickle / -(-len(data) // size)
        resp = web.StreamResponse(status=reply.status)
        resp.content_type = reply.content_type
        resp.content_length = len(data)
        try:
            await resp.prepare(request)
            for offset in range(0, end, size):
                if pause and not await self._sleep(pause):
                    return self._drop(request)
                await resp.write(data[offset : min(end, offset + size)])
        except ConnectionError:
            return resp
        if reply.kind == "reset":
            await asyncio.sleep(0.01)  # let the partial body reach the socket before closing
            if request.transport is not None:
                request.transport.close()
        return resp

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; return False if it is stopping."""
        assert self._stopping is not None
        if self._stopping.is_set():
            return False
        if seconds > 0:
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

    async def _file(self, request: web.Request) -> web.StreamResponse:
        """Handle ``GET /files/<name>``."""
        name = request.match_info["name"]
        self.file_hits[request.path] += 1
        if (served := self._files.get(name)) is None:
            message = f"file not found: {name}"
            err = {"message": message, "type": "invalid_request_error", "code": "not_found"}
            return web.json_response({"error": err}, status=404)
        return await self._serve(request, None, served)

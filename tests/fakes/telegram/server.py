"""The HTTP server: routing, request decoding, records, waiting, faults, outages, pacing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import socket
import time
import traceback
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Self

import aiohttp
from aiohttp import web
from aiohttp.multipart import BodyPartReader, content_disposition_filename
from aiohttp.multipart import parse_content_disposition as parse_disposition
from telegram import User

from tests.fakes.telegram import botapi
from tests.fakes.telegram.records import (
    BAD_GATEWAY_PAGE,
    ApiError,
    Call,
    Down,
    DropConnection,
    Hooks,
    JsonDict,
    Signal,
    UploadedFile,
)

_LOG = logging.getLogger(__name__)
MAX_BODY = 256 * 1024 * 1024  # what the server reads at all; Telegram's limits come later
_CANONICAL = {name.lower(): name for name in botapi.METHODS}

Handler = Callable[[Call], Awaitable[Any]]
Predicate = Callable[[Call], bool]


@dataclass
class _Fault:
    status: int
    description: str
    retry_after: int | None
    remaining: int


def _json_response(body: JsonDict, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode(),
        status=status,
        content_type="application/json",
    )


def bad_gateway() -> web.Response:
    return web.Response(
        text=BAD_GATEWAY_PAGE, status=502, content_type="text/html", headers={"Server": "nginx"}
    )


class Server:
    """The Bot API's transport, and the records every layer above shares."""

    def __init__(
        self, token: str, bot_username: str, bot_first_name: str, host: str, keep_uploads: bool
    ) -> None:
        prefix = token.split(":", 1)[0]
        #: Public observation points (see `Hooks`).
        self.hooks = Hooks()
        #: False: recorded calls drop their uploaded bytes (stored files are kept).
        self.keep_uploads = keep_uploads
        self._token = token
        self._bot = User(
            int(prefix) if prefix.isdigit() else 7_000_000_001,
            bot_first_name,
            is_bot=True,
            username=bot_username,
        )
        self._host, self._port = host, 0
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self.calls: list[Call] = []
        #: A description of every call that broke the Bot API 10.0 (unknown or missing
        #: parameter, parse_mode, a method this fake does not emulate).
        self.violations: list[str] = []
        self.handler_errors: list[str] = []
        self.get_updates_count = 0
        self._calls_by_method: dict[str, list[Call]] = {}
        self._calls_changed = Signal()
        self._updates_changed = Signal()
        self._methods: dict[str, Handler] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._drops: dict[str, int] = {}
        self._delays: dict[str, float] = {}
        self._down = False
        self._pace: dict[int | None, float] = {}
        self._last_send: dict[int, float] = {}

    # ---------------------------------------------------------------- lifecycle, identity

    async def start(self) -> None:
        """Bind the host on a free port and serve."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._on_api)
        app.router.add_route("GET", "/file/bot{token}/{file_path:.+}", self._on_download)
        app.router.add_route("*", "/{tail:.*}", self._on_unknown_path)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self._host, 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._closing.clear()

    async def stop(self) -> None:
        """End long polls and delays, close the server."""
        self._closing.set()
        self._updates_changed.notify()
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
        return self._bot.id

    @property
    def bot_username(self) -> str:
        return str(self._bot.username)

    @property
    def bot_user(self) -> JsonDict:
        """The bot as it appears in ``from`` of its messages."""
        return self._bot.to_dict()

    # ---------------------------------------------------------------- faults, outages, pacing

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

    def go_down(self) -> None:
        """An outage: every request (API and downloads) gets nginx's 502 HTML page."""
        self._down = True
        self._updates_changed.notify()  # waiting long polls end with the 502 too

    def come_up(self) -> None:
        self._down = False

    def pace(self, chat_id: int | None, per_second: float | None = 1.0) -> None:
        """Telegram's flood control: sends to ``chat_id`` (None: every chat) faster than
        ``per_second`` answer 429 with ``retry_after``; ``per_second=None`` switches it off.
        sendChatAction is not limited."""
        if per_second is None:
            self._pace.pop(chat_id, None)
        else:
            self._pace[chat_id] = per_second

    def _check_pace(self, chat_id: int) -> None:
        rate = self._pace.get(chat_id, self._pace.get(None))
        now, last = time.monotonic(), self._last_send.get(chat_id)
        if rate is not None and last is not None and now - last < 1 / rate:
            wait = max(1, math.ceil(1 / rate - (now - last)))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        self._last_send[chat_id] = now

    # ---------------------------------------------------------------- records

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

    def summary(self, last: int = 40) -> str:
        """A one-line digest of the last calls, for assertion messages."""
        parts = []
        for call in self.calls[-last:]:
            outcome = str(call.status) if call.ok else f"{call.status} {call.error or ''}".strip()
            parts.append(f"{call.method}({outcome})")
        skipped = len(self.calls) - len(parts)
        return (f"... {skipped} earlier, " if skipped > 0 else "") + ", ".join(parts or ["none"])

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

    # ---------------------------------------------------------------- HTTP

    def _canon(self, method: str) -> str:
        return _CANONICAL.get(method.lower(), method)

    async def _on_api(self, request: web.Request) -> web.StreamResponse:
        call = Call(self._canon(request.match_info["method"]), {}, {}, time.monotonic())
        response: web.Response
        try:
            response = _json_response({"ok": True, "result": await self._serve(request, call)})
        except ApiError as exc:
            response = _json_response(exc.body(), exc.status)
            call.error = exc.description
        except Down:
            response, call.error = bad_gateway(), "Bad Gateway"
        except DropConnection as exc:
            call.error = str(exc)
            self._record(call)
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=499)  # never reaches the client
        except Exception as exc:  # noqa: BLE001 - a handler bug must not kill the server
            detail = "".join(traceback.format_exception(exc))
            _LOG.error("FakeTelegram: %s failed:\n%s", call.method, detail)
            self.handler_errors.append(detail)
            call.error = f"Internal Server Error: {exc!r}"
            body = {"ok": False, "error_code": 500, "description": call.error}
            response = _json_response(body, 500)
        call.status = response.status
        call.body = response.body if isinstance(response.body, bytes) else b""
        if request.transport is None or request.transport.is_closing():
            # e.g. a long poll PTB cancelled at shutdown: nobody will read this answer
            call.status, call.error = 0, "the client disconnected before the answer"
        self._record(call)
        return response

    async def _serve(self, request: web.Request, call: Call) -> Any:
        try:
            names = await self._read(request, call)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"Bad Request: can't parse request: {exc}") from None
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, "Request Entity Too Large") from None
        except (aiohttp.ClientPayloadError, ConnectionError, asyncio.IncompleteReadError):
            raise DropConnection("the client disconnected during the upload") from None
        for hook in self.hooks.request:
            hook(call)
        if self._down:
            raise Down
        if request.match_info["token"] != self._token:
            raise ApiError(401, "Unauthorized")
        handler = self._conforming(call, names)
        if self._drops.get(call.method, 0) > 0:
            self._drops[call.method] -= 1
            raise DropConnection("dropped by drop_next")
        if (delay := self._delays.get(call.method, 0.0)) > 0:
            await self._sleep(delay)
        self._raise_fault(call.method)
        return await handler(call)

    def _raise_fault(self, method: str) -> None:
        if faults := self._faults.get(method):
            fault = faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.pop(0)
            raise ApiError(fault.status, fault.description, retry_after=fault.retry_after)

    def _conforming(self, call: Call, names: set[str]) -> Handler:
        """The handler of a call that keeps to the Bot API; 404 or 400 (a violation) else."""
        handler = self._methods.get(call.method)
        if handler is None:
            if call.method in botapi.METHODS:
                self.violations.append(f"{call.method}: not emulated by this fake")
            raise ApiError(404, "Not Found: method not found")
        problems = botapi.violations(call.method, names, call.params)
        if problems:
            self.violations.extend(violation for violation, _ in problems)
            raise ApiError(400, problems[0][1])
        return handler

    async def _sleep(self, seconds: float) -> None:
        """asyncio.sleep that `stop` cuts short."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closing.wait()

    async def _read(self, request: web.Request, call: Call) -> set[str]:
        """Decode a request, whatever its encoding, into ``call``; answers the names passed
        (file parts under their own name unless a field refers to them by attach://)."""
        raw: JsonDict = dict(request.query)
        if request.can_read_body and request.content_type == "multipart/form-data":
            await self._read_multipart(request, raw, call.files)
        elif request.can_read_body and request.content_type == "application/json":
            body = await request.read()
            decoded = json.loads(body) if body.strip() else {}
            if not isinstance(decoded, dict):
                raise ApiError(400, "Bad Request: JSON object expected")
            raw.update(decoded)
        elif request.can_read_body:
            body = await request.read()
            raw.update(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        call.params = {name: botapi.coerce(call.method, name, v) for name, v in raw.items()}
        attached = set()
        for name, value in call.params.items():
            if isinstance(value, str) and value.startswith("attach://"):
                attached.add(part_name := value.removeprefix("attach://"))
                if part_name in call.files:
                    call.files.setdefault(name, call.files[part_name])
        return set(call.params) | (call.files.keys() - attached)

    @staticmethod
    async def _read_multipart(
        request: web.Request, raw: JsonDict, files: dict[str, UploadedFile]
    ) -> None:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            # parse the disposition once: BodyPartReader.name/.filename re-parse on each access
            _, disposition = parse_disposition(part.headers.get(aiohttp.hdrs.CONTENT_DISPOSITION))
            name = content_disposition_filename(disposition, "name")
            if not isinstance(part, BodyPartReader) or name is None:
                await part.release()
                continue
            filename = content_disposition_filename(disposition, "filename")
            data = bytes(await part.read())
            if filename is None:
                with contextlib.suppress(UnicodeDecodeError, LookupError):
                    raw[name] = data.decode(part.get_charset("utf-8"))
                    continue
            files[name] = UploadedFile(data, filename, part.headers.get(aiohttp.hdrs.CONTENT_TYPE))

    async def _on_download(self, request: web.Request) -> web.StreamResponse:
        if self._down:
            return bad_gateway()
        if request.match_info["token"] != self._token:
            return _json_response(ApiError(401, "Unauthorized").body(), 401)
        found = self._download(request.match_info["file_path"])
        if found is None:
            return _json_response(ApiError(404, "Not Found").body(), 404)
        data, content_type = found
        return web.Response(body=data, content_type=content_type)

    def _download(self, file_path: str) -> tuple[bytes, str] | None:
        """The bytes and content type served at ``file_path`` (the files layer knows)."""
        return None

    async def _on_unknown_path(self, request: web.Request) -> web.StreamResponse:
        if self._down:
            return bad_gateway()
        return _json_response(ApiError(404, "Not Found").body(), 404)

"""PTB's HTTP requests on aiohttp directly: every Bot API call and file download of the bot.

PTB's own `HTTPXRequest` would put httpx's request and response models on top of the aiohttp
pool for each call; this `BaseRequest` speaks aiohttp itself (the gateway stays on httpx).

Its promises to PTB, which retries by them:
* a call that ran out of time raises `TimedOut`; a refused, reset or dropped connection
  raises `NetworkError` (the Updater retries a dropped long poll after a growing pause, a
  timed-out one at once);
* an upload is written in `UPLOAD_PIECE` views of its bytes, never copied whole (see
  `Upload`);
* a large answer (a downloaded input image) is held once: see `http_clients.collect`;
* proxy settings are those of `http_clients.proxy_for`, read once.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import aiohttp.payload
from aiohttp.abc import AbstractStreamWriter
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.http_clients import collect, proxy_for, received_pieces

#: Larger answers than this are refused (a file download is at most 20 MB, or 2 GB in
#: local mode, where files are read from disk instead).
MAX_ANSWER_BYTES = 100 * 1024 * 1024
#: Bytes of an upload handed to the socket at a time.
UPLOAD_PIECE = 256 * 1024


class AiohttpRequest(BaseRequest):
    """Bot API requests over one aiohttp session of `connections` connections to `root`."""

    def __init__(
        self,
        root: str,
        *,
        connections: int,
        read_timeout: float | None,
        write_timeout: float | None = None,
        connect_timeout: float | None = None,
        pool_timeout: float | None = None,
        media_write_timeout: float | None = None,
    ) -> None:
        self._connections = connections
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        proxy = proxy_for(root)
        self._proxy = str(proxy.url) if proxy else None
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The read timeout of calls that do not set their own."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (in the running loop)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See `BaseRequest.do_request`."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        uploads = request_data is not None and request_data.contains_files
        default_write = self._media_write_timeout if uploads else self._write_timeout
        read = _given(read_timeout, self._read_timeout)
        write = _given(write_timeout, default_write)
        if uploads:  # aiohttp has no write timeout: the upload's time counts as reading's
            read = None if read is None or write is None else read + write
        timeout = aiohttp.ClientTimeout(
            connect=_given(pool_timeout, self._pool_timeout),
            sock_connect=_given(connect_timeout, self._connect_timeout),
            sock_read=read,
        )
        try:
            async with self._session.request(
                method,
                url,
                data=_body(request_data),
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
                proxy=self._proxy,
                allow_redirects=False,
            ) as response:
                content = await collect(received_pieces(response), MAX_ANSWER_BYTES)
                if content is None:
                    raise NetworkError(f"answer is larger than {MAX_ANSWER_BYTES} bytes")
                return response.status, content
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """The call's parameters: a form, with files (streamed from memory or disk) if any."""
    if request_data is None:
        return None
    if not request_data.contains_files:
        return request_data.json_parameters or None
    form = aiohttp.FormData(request_data.json_parameters, quote_fields=False)
    for name, (filename, content, mime) in request_data.multipart_data.items():
        if isinstance(content, bytes):
            form.add_field(name, Upload(content, content_type=mime), filename=filename)
        else:
            form.add_field(name, content, filename=filename, content_type=mime)
    return form


class Upload(aiohttp.payload.Payload):
    """A file's bytes, written in `UPLOAD_PIECE` slices of the one copy there is.

    aiohttp's own payloads either hand the socket the whole file at once (what the kernel
    does not take at once is copied into the transport's buffer) or, for a `BytesIO`, copy
    the file to read it in 64 KB pieces; this writes views of the bytes and waits for each
    to drain, so an upload costs at most one piece beyond the file.
    """

    _autoclose = True  # nothing to release: the bytes are the caller's

    def __init__(self, value: bytes, **kwargs: Any) -> None:
        super().__init__(value, **kwargs)
        self._size = len(value)

    async def as_bytes(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        """The bytes themselves (aiohttp's interface)."""
        return bytes(self._value)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """The bytes as text (aiohttp's interface; never called for an upload)."""
        return str(self._value.decode(encoding, errors))

    async def write(self, writer: AbstractStreamWriter) -> None:
        """Send the bytes, a slice at a time."""
        await self.write_with_length(writer, None)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        """Send the bytes (at most `content_length` of them), a slice at a time."""
        view = memoryview(self._value)[:content_length]
        for start in range(0, len(view), UPLOAD_PIECE):
            await writer.write(view[start : start + UPLOAD_PIECE])

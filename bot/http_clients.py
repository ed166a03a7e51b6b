"""HTTP plumbing shared by the gateway client and the Bot API requests: httpx's API over
aiohttp's connection pool (the gateway's), proxies read once, and bodies read up to a cap,
each held once.

httpx's own pool serialises badly under hundreds of concurrent requests
(encode/httpx#3215); the `httpx-aiohttp` transport keeps httpx's API and removes that cost.
Proxy settings (HTTP(S)_PROXY, NO_PROXY) are read once here: aiohttp's `trust_env` would
look them up, and `.netrc`, in a thread on every request.
"""

from __future__ import annotations

import asyncio
import tempfile
import urllib.request
from collections.abc import AsyncIterable, AsyncIterator
from typing import BinaryIO
from urllib.parse import urlsplit

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import AiohttpResponseStream, map_aiohttp_exceptions

#: Bodies larger than this are gathered in a temporary file (see `collect`): HD results and
#: big input files. Standard results (1-2 MB) are joined in memory, where the brief second
#: copy costs less than the file's write, read and three thread hops.
SPILL_AFTER = 4 * 1024 * 1024


def proxy_for(url: str) -> httpx.Proxy | None:
    """The proxy the environment sets for `url`'s scheme and host, if any."""
    parts = urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    proxy = urllib.request.getproxies().get(parts.scheme)
    return httpx.Proxy(proxy) if proxy else None


class Transport(AiohttpTransport):
    """`AiohttpTransport` that reports a dropped connection as one, not as a timeout, and
    hands bodies on in the pieces they arrived in (`received_pieces`): its own stream reads
    16 KB at a time, joining the pieces that arrived into each (a 1 MB image made 64 trips
    through httpx's stream layers, and was copied once more on the way).

    httpx-aiohttp maps every `aiohttp.ClientConnectionError` (a refused connection, a
    reset, a server that hung up) to `httpx.ConnectTimeout`; callers that treat a timeout
    differently from a network error (PTB's long polling retries timeouts at once, other
    network errors after a growing pause) need the truth.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            if isinstance(cause, TimeoutError) or not isinstance(cause, aiohttp.ClientError):
                raise
            if isinstance(cause, aiohttp.ClientConnectorError):
                raise httpx.ConnectError(str(exc), request=request) from cause
            raise httpx.NetworkError(str(exc), request=request) from cause
        # httpx-aiohttp (0.2, bounded in pyproject.toml) keeps aiohttp's response only in
        # its stream's private attribute; were it to move, its own stream would serve.
        received = getattr(response.stream, "_aiohttp_response", None)
        if isinstance(received, aiohttp.ClientResponse):
            response.stream = _Received(received)
        return response


class _Received(AiohttpResponseStream):
    """A body in the pieces aiohttp received it in, none of them copied on the way
    (`iter_chunked(n)`, which httpx-aiohttp reads with, joins what has arrived up to n
    bytes: one more copy of every body)."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with map_aiohttp_exceptions():
            async for piece in received_pieces(self._aiohttp_response):
                yield piece


async def received_pieces(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The body of `response` as aiohttp received it, piece by piece."""
    async for piece, _ in response.content.iter_chunks():
        if piece:
            yield piece


def transport(max_connections: int, target: str) -> Transport:
    """An httpx transport over one aiohttp session to `target`, proxied as the environment says."""

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=30)
        return aiohttp.ClientSession(connector=connector)

    return Transport(client=session, proxy=proxy_for(target))


async def read_capped(
    response: httpx.Response, limit: int, *, truncate: bool = False
) -> bytes | None:
    """The whole body, or None if it is over `limit` bytes (cut there instead, if `truncate`,
    for error pages, which are read only up to a few KB)."""
    declared = response.headers.get("content-length")
    if not truncate and declared and declared.isdigit() and int(declared) > limit:
        return None
    if not truncate:
        return await collect(response.aiter_bytes(), limit)
    head = bytearray()
    async for chunk in response.aiter_bytes():
        head += chunk
        if len(head) > limit:
            break
    return bytes(head[:limit])


async def collect(chunks: AsyncIterable[bytes], limit: int) -> bytes | None:
    """All of `chunks` as one `bytes`, or None once they pass `limit` bytes.

    A big body (an HD image, an answer carrying one, an input photo) is held once: past
    `SPILL_AFTER` bytes the chunks go to a temporary file, and the body is read back from it
    in one exactly sized piece. Joining them in memory would hold every byte twice at the end.
    """
    pending: list[bytes] = []
    pending_size = size = 0
    spill: BinaryIO | None = None
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                return None
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= SPILL_AFTER:
                if spill is None:
                    spill = await asyncio.to_thread(tempfile.TemporaryFile)
                await asyncio.to_thread(spill.writelines, pending)
                pending, pending_size = [], 0
        if spill is None:
            return b"".join(pending)
        return await asyncio.to_thread(_read_back, spill, pending)
    finally:
        if spill is not None:
            spill.close()


def _read_back(spill: BinaryIO, rest: list[bytes]) -> bytes:
    spill.writelines(rest)
    spill.seek(0)
    return spill.read()

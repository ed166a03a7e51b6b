"""HTTP plumbing shared by the gateway client and the Bot API requests: httpx's API over
aiohttp's connection pool, proxies read once, and bodies read up to a cap.

httpx's own pool serialises badly under hundreds of concurrent requests
(encode/httpx#3215); the `httpx-aiohttp` transport keeps httpx's API and removes that cost.
Proxy settings (HTTP(S)_PROXY, NO_PROXY) are read once here: aiohttp's `trust_env` would
look them up, and `.netrc`, in a thread on every request.
"""

from __future__ import annotations

import urllib.request
from urllib.parse import urlsplit

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


def proxy_for(url: str) -> httpx.Proxy | None:
    """The proxy the environment sets for `url`'s scheme and host, if any."""
    parts = urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    proxy = urllib.request.getproxies().get(parts.scheme)
    return httpx.Proxy(proxy) if proxy else None


class Transport(AiohttpTransport):
    """`AiohttpTransport` that reports a dropped connection as one, not as a timeout.

    httpx-aiohttp maps every `aiohttp.ClientConnectionError` (a refused connection, a
    reset, a server that hung up) to `httpx.ConnectTimeout`; callers that treat a timeout
    differently from a network error (PTB's long polling retries timeouts at once, other
    network errors after a growing pause) need the truth.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            if isinstance(cause, TimeoutError) or not isinstance(cause, aiohttp.ClientError):
                raise
            if isinstance(cause, aiohttp.ClientConnectorError):
                raise httpx.ConnectError(str(exc), request=request) from cause
            raise httpx.NetworkError(str(exc), request=request) from cause


def transport(max_connections: int, target: str) -> Transport:
    """An httpx transport over one aiohttp session to `target`, proxied as the environment says."""

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=30)
        return aiohttp.ClientSession(connector=connector)

    return Transport(client=session, proxy=proxy_for(target))


async def read_capped(
    response: httpx.Response, limit: int, *, truncate: bool = False
) -> bytes | None:
    """The whole body, or None if it is over `limit` bytes (cut there instead, if `truncate`)."""
    declared = response.headers.get("content-length")
    if not truncate and declared and declared.isdigit() and int(declared) > limit:
        return None
    buffer = bytearray()
    async for chunk in response.aiter_bytes():
        buffer += chunk
        if len(buffer) > limit:
            return bytes(buffer[:limit]) if truncate else None
    return bytes(buffer)

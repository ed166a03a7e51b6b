"""HTTP clients: httpx's API over aiohttp's connection pool.

httpx's own pool serialises badly under hundreds of concurrent requests
(encode/httpx#3215); the `httpx-aiohttp` transport keeps httpx's API and removes that cost
(see `bench/`). Proxy settings (HTTP(S)_PROXY, NO_PROXY) are read once here: aiohttp's
`trust_env` would look them up, and `.netrc`, in a thread on every request.
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


def transport(max_connections: int, target: str) -> AiohttpTransport:
    """An httpx transport over one aiohttp session, proxied as the environment says."""

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=30)
        return aiohttp.ClientSession(connector=connector)

    return AiohttpTransport(client=session, proxy=proxy_for(target))


def client(max_connections: int, target: str) -> httpx.AsyncClient:
    """An httpx client for the gateway and the images it links."""
    return httpx.AsyncClient(transport=transport(max_connections, target), follow_redirects=False)

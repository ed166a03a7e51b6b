"""HTTP clients: httpx's API over aiohttp's connection pool.

httpx's own pool serialises badly under hundreds of concurrent requests
(encode/httpx#3215); the `httpx-aiohttp` transport keeps httpx's API and removes that cost
(see `bench/`). `trust_env` keeps HTTP(S)_PROXY working, as with plain httpx.
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


def transport(max_connections: int) -> AiohttpTransport:
    """An httpx transport backed by an aiohttp session with `max_connections`."""

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=30)
        return aiohttp.ClientSession(connector=connector, trust_env=True)

    return AiohttpTransport(client=session)


def client(max_connections: int) -> httpx.AsyncClient:
    """An httpx client for the gateway and image downloads."""
    return httpx.AsyncClient(transport=transport(max_connections), follow_redirects=False)

"""Images the gateway links to: fetched over http(s) only, never into a private network.

The model writes these links, and a user can talk it into any URL. `LinkFetcher` downloads
with httpx following redirects (at most `MAX_REDIRECTS`), and `check_hop`, the client's
request hook, vets every hop before it goes out: http(s) only, and a host outside loopback,
private, link-local and reserved networks (the gateway's own host is trusted as it is).
The address is checked when resolved there; a DNS answer that changes before the download
connects is not caught.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from urllib.parse import urlsplit

import httpx

from bot.errors import GatewayTimeout, ResultDownloadFailed
from bot.http_clients import read_capped

MAX_IMAGE_BYTES = 50 * 1024 * 1024
DOWNLOAD_TIMEOUT = 60.0
MAX_REDIRECTS = 3


class LinkFetcher:
    """Downloads linked images through `http`, whose request hook is `check_hop`."""

    def __init__(self, trusted_host: str) -> None:
        self._trusted = trusted_host.lower()

    async def check_hop(self, request: httpx.Request) -> None:
        """Refuse a request (a link or a redirect) that leaves http(s) or the public internet."""
        if request.url.scheme not in ("http", "https"):
            raise ResultDownloadFailed("image link is not http(s)")
        host = request.url.host.lower()
        if host == self._trusted:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None)
        except (OSError, UnicodeError):
            raise ResultDownloadFailed("image host cannot be resolved") from None
        for *_, sockaddr in infos:
            address = ipaddress.ip_address(sockaddr[0])
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            if not address.is_global:
                raise ResultDownloadFailed("image link points into a private network")

    async def fetch(self, http: httpx.AsyncClient, url: str, deadline: float) -> bytes:
        """The image at `url`, within the request's `deadline` (monotonic)."""
        if _scheme(url) not in ("http", "https"):
            raise ResultDownloadFailed("image link is not http(s)")
        remaining = min(DOWNLOAD_TIMEOUT, deadline - time.monotonic())
        if remaining <= 0:
            raise GatewayTimeout("request deadline passed while downloading")
        try:
            async with (
                asyncio.timeout(remaining),
                http.stream("GET", url, follow_redirects=True, timeout=remaining) as response,
            ):
                if response.status_code != 200:
                    raise ResultDownloadFailed(f"image link answered {response.status_code}")
                data = await read_capped(response, MAX_IMAGE_BYTES)
        except (TimeoutError, httpx.TimeoutException):
            raise ResultDownloadFailed("image download timed out") from None
        except httpx.TooManyRedirects:
            raise ResultDownloadFailed("too many redirects") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            raise ResultDownloadFailed("image link is not a valid http(s) URL") from None
        except httpx.HTTPError as exc:
            raise ResultDownloadFailed(f"image download failed: {type(exc).__name__}") from None
        if data is None:
            raise ResultDownloadFailed(f"image is larger than {MAX_IMAGE_BYTES // 2**20} MB")
        return data


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return ""

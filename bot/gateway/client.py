"""The image gateway: one chat-completions call per job, retried where that is safe.

    generate()
      └─ _call() until the deadline      POST /v1/chat/completions, retried on
         │                               429 (Retry-After), 5xx, connection errors
         ├─ read_answer()                in the image worker
         └─ _fetch() per linked image    http(s) only, size cap, checked to be an image

Nothing is retried on 400/401/403 or after a valid answer; a failed image download is not
retried by calling the model again, which would pay for a second image.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import logging
import random
import secrets
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from bot.domain import GatewayResult, GeneratedImage, InputImage
from bot.errors import (
    GatewayAuthError,
    GatewayBadRequest,
    GatewayError,
    GatewayRateLimited,
    GatewayServerError,
    GatewayStatusError,
    GatewayTimeout,
    GatewayUnreachable,
    InputImageInvalid,
    InputImageTooManyPixels,
    MalformedAnswer,
    NoImage,
    ResultDownloadFailed,
)
from bot.gateway.answer import ImageSource, error_message, read_answer
from bot.imaging import ImageWorker, inspect

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 50 * 1024 * 1024
#: A 50 MB image as base64 inside JSON, with room for the rest of the answer.
MAX_ANSWER_BYTES = MAX_IMAGE_BYTES * 4 // 3 + 1024 * 1024
CONNECT_TIMEOUT = 10.0
DOWNLOAD_TIMEOUT = 60.0
MAX_REDIRECTS = 3
#: No attempt gets less than this, unless the deadline itself is nearer.
MIN_ATTEMPT_TIME = 10.0
#: How much of an error answer is read.
ERROR_BODY_BYTES = 64 * 1024
#: Images taken from one answer at most.
MAX_RESULT_IMAGES = 10
BACKOFF_BASE = 1.0
BACKOFF_CAP = 20.0


def chat_completions_url(base_url: str) -> str:
    """`{base}/v1/chat/completions`, whatever slashes, `/v1` or full endpoint the base has."""
    parts = urlsplit(base_url.strip())
    path = "/".join(p for p in parts.path.split("/") if p)
    for suffix in ("v1/chat/completions", "v1"):
        if path == suffix or path.endswith("/" + suffix):
            path = path[: -len(suffix)].rstrip("/")
            break
    prefix = f"/{path}" if path else ""
    return f"{parts.scheme}://{parts.netloc}{prefix}/v1/chat/completions"


def build_body(
    model: str,
    group: str,
    prompt: str,
    images: Sequence[InputImage],
    aspect_ratio: str | None,
) -> bytes:
    """The JSON request body of SPEC section 1 (synchronous: base64 of big images).

    Base64 needs no JSON escaping, so each image's base64 is written straight into the body
    instead of going through a Python string: one copy of each image, not four.
    """
    slot = secrets.token_hex(16)  # stands for each data URL; unguessable, so never in a prompt
    content: str | list[dict[str, Any]]
    if images:
        content = [{"type": "text", "text": prompt}]
        content += [{"type": "image_url", "image_url": {"url": slot}} for _ in images]
    else:
        content = prompt
    body: dict[str, Any] = {
        "model": model,
        "group": group,
        "stream": False,
        "messages": [{"role": "user", "content": content}],
    }
    if aspect_ratio:
        body["extra_body"] = {"google": {"image_config": {"aspect_ratio": aspect_ratio}}}
    pieces = json.dumps(body, ensure_ascii=False).encode().split(f'"{slot}"'.encode())
    out = bytearray(pieces[0])
    for image, piece in zip(images, pieces[1:], strict=True):
        out += f'"data:{image.mime};base64,'.encode()
        out += base64.b64encode(image.data)
        out += b'"' + piece
    return bytes(out)


def _status_error(status: int, body: bytes, headers: httpx.Headers) -> GatewayStatusError:
    message = error_message(body) or httpx.codes.get_reason_phrase(status)
    if status == 429:
        return GatewayRateLimited(status, message, _retry_after(headers))
    if status in (401, 403):
        return GatewayAuthError(status, message)
    if status >= 500:
        return GatewayServerError(status, message)
    return GatewayBadRequest(status, message)


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class GatewayClient:
    """Calls the gateway for one job and returns the images it made."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        worker: ImageWorker,
        *,
        base_url: str,
        api_key: str,
        group: str,
        timeout: float,
        backoff: float = BACKOFF_BASE,
        min_attempt: float = MIN_ATTEMPT_TIME,
    ) -> None:
        self._http = http
        self._backoff = backoff
        self._min_attempt = min_attempt
        self._worker = worker
        self._url = chat_completions_url(base_url)
        self._host = (urlsplit(self._url).hostname or "").lower()
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self._group = group
        self._timeout = timeout
        self._key = api_key

    async def generate(
        self,
        *,
        model: str,
        prompt: str,
        images: Sequence[InputImage] = (),
        aspect_ratio: str | None = None,
    ) -> GatewayResult:
        """Ask `model` for an image; raise a `GatewayError` subclass on failure."""
        deadline = time.monotonic() + self._timeout
        size = sum(len(image.data) for image in images)
        body = await self._worker.run_sized(
            size, build_body, model, self._group, prompt, images, aspect_ratio
        )
        raw = await self._call_with_retries(body, deadline)
        answer = await self._worker.run_sized(len(raw), read_answer, raw, MAX_IMAGE_BYTES)
        del raw
        if not answer.sources:
            raise NoImage(self._scrub(answer.text), answer.usage)
        results: list[GeneratedImage] = []
        failures: list[ResultDownloadFailed] = []
        for source in answer.sources[:MAX_RESULT_IMAGES]:
            try:
                results.append(await self._image(source, deadline))
            except ResultDownloadFailed as exc:  # the call is paid for: keep what did come
                failures.append(exc)
        if not results:
            failures[0].usage = answer.usage
            raise failures[0]
        if failures:
            log.warning("%d of the answer's images could not be used", len(failures))
        return GatewayResult(tuple(results), answer.usage)

    async def _call_with_retries(self, body: bytes, deadline: float) -> bytes:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._call(body, deadline)
            except GatewayError as exc:
                delay = self._retry_delay(exc, attempt)
                if delay is None or delay >= deadline - time.monotonic():
                    raise
                log.warning(
                    "gateway attempt %d failed (%s); retrying in %.1fs", attempt, exc, delay
                )
                await asyncio.sleep(delay)

    def _retry_delay(self, exc: GatewayError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when it must not be retried."""
        if not exc.retryable:
            return None
        backoff = min(BACKOFF_CAP, self._backoff * 2.0 ** (attempt - 1)) * random.uniform(0.5, 1)
        if isinstance(exc, GatewayRateLimited) and exc.retry_after is not None:
            return max(float(exc.retry_after), backoff)  # `Retry-After: 0` is no reason to hammer
        return backoff

    async def _call(self, body: bytes, deadline: float) -> bytes:
        # Each attempt gets half the deadline, so a hung connection can be retried once.
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise GatewayTimeout("request deadline passed")
        limit = min(remaining, max(self._timeout / 2, self._min_attempt))
        timeout = httpx.Timeout(limit, connect=min(CONNECT_TIMEOUT, limit))
        try:
            async with asyncio.timeout(limit):
                request = self._http.build_request(
                    "POST", self._url, content=body, headers=self._headers, timeout=timeout
                )
                response = await self._http.send(request, stream=True)
                try:
                    if response.status_code == 200:
                        raw = await _read_capped(response, MAX_ANSWER_BYTES)
                    else:  # an error page: its first bytes say all there is to say
                        raw = await _read_capped(response, ERROR_BODY_BYTES, truncate=True)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise GatewayTimeout(f"no answer within {self._timeout:.0f}s") from None
        except httpx.ConnectTimeout:
            raise GatewayUnreachable("cannot connect to the gateway") from None
        except httpx.TimeoutException:
            raise GatewayTimeout(f"no answer within {self._timeout:.0f}s") from None
        except httpx.TransportError as exc:
            raise GatewayUnreachable(f"{type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            error = _status_error(response.status_code, raw, response.headers)
            error.message = self._scrub(error.message)
            error.args = (f"HTTP {error.status}: {error.message}",)
            raise error
        return raw

    async def _check_host(self, url: str) -> None:
        """Refuse links into loopback, private, link-local or reserved networks.

        The model writes these links, and a user can talk it into any URL; only the
        gateway's own host is trusted as it is. (The address is checked when resolved here;
        a DNS answer that changes before the download connects is not caught.)
        """
        host = (urlsplit(url).hostname or "").lower()
        if host == self._host:
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

    def _scrub(self, text: str) -> str:
        """`text` without the API key, should the gateway echo it back."""
        return text.replace(self._key, "[redacted]") if self._key else text

    async def _image(self, source: ImageSource, deadline: float) -> GeneratedImage:
        data = source if isinstance(source, bytes) else await self._fetch(source, deadline)
        try:
            info = await self._worker.run(inspect, data)
        except (InputImageInvalid, InputImageTooManyPixels) as exc:
            raise ResultDownloadFailed(f"result is not an image: {exc}") from None
        return GeneratedImage(data, info.mime, info.width, info.height)

    async def _fetch(self, url: str, deadline: float) -> bytes:
        """Download an http(s) image, following at most a few http(s) redirects."""
        for _ in range(MAX_REDIRECTS + 1):
            if _scheme(url) not in ("http", "https"):
                raise ResultDownloadFailed("image link is not http(s)")
            await self._check_host(url)
            remaining = min(DOWNLOAD_TIMEOUT, deadline - time.monotonic())
            if remaining <= 0:
                raise GatewayTimeout("request deadline passed while downloading")
            try:
                async with asyncio.timeout(remaining):
                    response = await self._http.send(
                        self._http.build_request("GET", url, timeout=remaining), stream=True
                    )
                    try:
                        if response.is_redirect and "location" in response.headers:
                            url = urljoin(url, response.headers["location"])
                            continue
                        if response.status_code != 200:
                            raise ResultDownloadFailed(
                                f"image link answered {response.status_code}"
                            )
                        return await _read_capped(response, MAX_IMAGE_BYTES)
                    finally:
                        await response.aclose()
            except TimeoutError:
                raise ResultDownloadFailed("image download timed out") from None
            except httpx.TimeoutException:
                raise ResultDownloadFailed("image download timed out") from None
            except httpx.InvalidURL:  # raised for a redirect's Location httpx cannot parse
                raise ResultDownloadFailed("image link is not a valid http(s) URL") from None
            except httpx.HTTPError as exc:
                raise ResultDownloadFailed(f"image download failed: {type(exc).__name__}") from None
        raise ResultDownloadFailed("too many redirects")


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return ""


async def _read_capped(response: httpx.Response, limit: int, *, truncate: bool = False) -> bytes:
    """The whole body, refusing anything over `limit` bytes (or cutting it, if `truncate`)."""
    declared = response.headers.get("content-length")
    if not truncate and declared and declared.isdigit() and int(declared) > limit:
        raise _too_big(response, limit)
    buffer = bytearray()
    async for chunk in response.aiter_bytes():
        buffer += chunk
        if len(buffer) > limit:
            if truncate:
                return bytes(buffer[:limit])
            raise _too_big(response, limit)
    return bytes(buffer)


def _too_big(response: httpx.Response, limit: int) -> GatewayError:
    what = "image" if response.request.method == "GET" else "answer"
    if what == "image":
        return ResultDownloadFailed(f"image is larger than {limit // 2**20} MB")
    return MalformedAnswer(f"answer is larger than {limit // 2**20} MB")

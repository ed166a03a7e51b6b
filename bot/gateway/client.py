"""The image gateway: one chat-completions call per job, retried where that is safe.

    generate()
      ├─ build_body()                    in the image worker (base64 of the inputs; big
      │                                  ones to a temporary file, sent from there)
      └─ _call() until the deadline      POST /v1/chat/completions, retried on
         │                               429 (Retry-After), 5xx, connection errors
         ├─ read_answer()                in the image worker
         └─ LinkFetcher per linked image http(s) only, public hosts, size cap; then
                                         checked to be an image

Nothing is retried on 400/401/403 or after a valid answer; a failed image download is not
retried by calling the model again, which would pay for a second image.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx

from bot.domain import GatewayResult, GeneratedImage, InputImage
from bot.errors import (
    GatewayAuthError,
    GatewayBadRequest,
    GatewayBalanceSpent,
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
    SafetyBlocked,
)
from bot.gateway.answer import ImageSource, read_answer
from bot.gateway.error_body import read_error
from bot.gateway.links import MAX_IMAGE_BYTES, MAX_REDIRECTS, LinkFetcher
from bot.gateway.request import Body, build_body, chat_completions_url, endpoint_url
from bot.http_clients import read_capped
from bot.imaging import ImageWorker, inspect
from bot.logs import redactor

log = logging.getLogger(__name__)

#: A 50 MB image as base64 inside JSON, with room for the rest of the answer.
MAX_ANSWER_BYTES = MAX_IMAGE_BYTES * 4 // 3 + 1024 * 1024
CONNECT_TIMEOUT = 10.0
#: No attempt gets less than this, unless the deadline itself is nearer.
MIN_ATTEMPT_TIME = 10.0
#: How much of an error answer is read.
ERROR_BODY_BYTES = 64 * 1024
#: Images taken from one answer at most.
MAX_RESULT_IMAGES = 10
BACKOFF_BASE = 1.0
BACKOFF_CAP = 20.0


#: new-api's codes for an operator account that ran dry.
BALANCE_SPENT = ("insufficient_user_quota", "pre_consume_token_quota_failed")


def _status_error(
    status: int, body: bytes, headers: httpx.Headers
) -> GatewayStatusError | SafetyBlocked:
    error = read_error(body)
    message = error.message or httpx.codes.get_reason_phrase(status)
    if status == 429:
        return GatewayRateLimited(status, message, _retry_after(headers))
    if status == 400 and error.says("prompt_blocked"):
        return SafetyBlocked(message)
    if error.says(*BALANCE_SPENT):
        return GatewayBalanceSpent(status, message)
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
        transport: httpx.AsyncBaseTransport,
        worker: ImageWorker,
        *,
        base_url: str,
        api_key: str,
        group: str,
        timeout: float,
        backoff: float = BACKOFF_BASE,
        min_attempt: float = MIN_ATTEMPT_TIME,
    ) -> None:
        self._url = chat_completions_url(base_url)
        self._links = LinkFetcher(urlsplit(self._url).hostname or "")
        self._http = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            max_redirects=MAX_REDIRECTS,
            event_hooks={"request": [self._links.check_hop]},
        )
        self._backoff = backoff
        self._min_attempt = min_attempt
        self._worker = worker
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self._group = group
        self._timeout = timeout
        self._scrub = redactor([api_key])

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def generate(
        self,
        *,
        model: str,
        prompt: str,
        images: Sequence[InputImage] = (),
        aspect_ratio: str | None = None,
    ) -> GatewayResult:
        """Ask `model` for an image; raise a `GatewayError` subclass on failure.

        The inputs are let go once their body is written: a caller that keeps no reference
        to `images` holds a big photo only until then.
        """
        deadline = time.monotonic() + self._timeout
        size = sum(len(image.data) for image in images)
        body = await self._worker.run_sized(
            size, build_body, model, self._group, prompt, images, aspect_ratio
        )
        del images
        try:
            raw = await self._call_with_retries(body, deadline)
        finally:
            body.close()
        answer = await self._worker.run_sized(len(raw), read_answer, raw, MAX_IMAGE_BYTES)
        del raw
        if not answer.sources:
            if answer.finish_reason == "content_filter":
                raise SafetyBlocked("finish_reason: content_filter", answer.usage)
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

    async def models(self) -> list[str]:
        """The models the key may use (`GET /v1/models`, free on new-api); raises a
        `GatewayError` as `generate` does."""
        url = endpoint_url(self._url, "models")
        headers = {"Authorization": self._headers["Authorization"]}
        try:
            response = await self._http.get(url, headers=headers, timeout=CONNECT_TIMEOUT * 2)
        except httpx.TimeoutException:
            raise GatewayTimeout("no answer to GET /v1/models") from None
        except httpx.TransportError as exc:
            raise GatewayUnreachable(f"{type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise self._refusal(response.status_code, response.content, response.headers)
        try:
            listed = response.json()["data"]
            return [str(model["id"]) for model in listed]
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedAnswer(f"not a model list: {exc!r}") from None

    async def _call_with_retries(self, body: Body, deadline: float) -> bytes:
        attempt = 0
        last: GatewayError | None = None
        while True:
            attempt += 1
            try:
                return await self._call(body, deadline)
            except GatewayError as exc:
                late = isinstance(exc, GatewayTimeout) and time.monotonic() >= deadline
                if late and isinstance(last, GatewayUnreachable):
                    raise last from None  # "cannot be reached" says more than "too long"
                last = exc
                delay = self._retry_delay(exc, attempt)
                if delay is None or delay >= deadline - time.monotonic():
                    raise
                log.warning(
                    "gateway attempt %d failed (%s); retrying in %.1fs", attempt, exc, delay
                )
                await asyncio.sleep(delay)
                if time.monotonic() >= deadline:
                    raise  # a busy loop overslept the pause: this failure is the answer

    def _retry_delay(self, exc: GatewayError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when it must not be retried."""
        if not exc.retryable:
            return None
        backoff = min(BACKOFF_CAP, self._backoff * 2.0 ** (attempt - 1)) * random.uniform(0.5, 1)
        if isinstance(exc, GatewayRateLimited) and exc.retry_after is not None:
            return max(float(exc.retry_after), backoff)  # `Retry-After: 0` is no reason to hammer
        return backoff

    async def _call(self, body: Body, deadline: float) -> bytes:
        # Each attempt gets half the deadline, so a hung connection can be retried once.
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise GatewayTimeout("request deadline passed")
        limit = min(remaining, max(self._timeout / 2, self._min_attempt))
        timeout = httpx.Timeout(limit, connect=min(CONNECT_TIMEOUT, limit))
        try:
            async with asyncio.timeout(limit):
                headers = {**self._headers, "Content-Length": str(body.size)}
                request = self._http.build_request(
                    "POST", self._url, content=body.content(), headers=headers, timeout=timeout
                )
                response = await self._http.send(request, stream=True)
                try:
                    if response.status_code == 200:
                        raw = await read_capped(response, MAX_ANSWER_BYTES)
                    else:  # an error page: its first bytes say all there is to say
                        raw = await read_capped(response, ERROR_BODY_BYTES, truncate=True)
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
        if raw is None:
            raise MalformedAnswer(f"answer is larger than {MAX_ANSWER_BYTES // 2**20} MB")
        if response.status_code != 200:
            raise self._refusal(response.status_code, raw, response.headers)
        return raw

    def _refusal(
        self, status: int, body: bytes, headers: httpx.Headers
    ) -> GatewayStatusError | SafetyBlocked:
        """The error an error answer stands for, the key scrubbed should it be echoed."""
        error = _status_error(status, body, headers)
        if isinstance(error, SafetyBlocked):
            error.reason = self._scrub(error.reason)
            return error
        error.message = self._scrub(error.message)
        error.args = (f"HTTP {error.status}: {error.message}",)
        return error

    async def _image(self, source: ImageSource, deadline: float) -> GeneratedImage:
        if isinstance(source, bytes):
            data = source
        else:
            data = await self._links.fetch(self._http, source, deadline)
        try:
            info = await self._worker.run(inspect, data)
        except (InputImageInvalid, InputImageTooManyPixels) as exc:
            raise ResultDownloadFailed(f"result is not an image: {exc}") from None
        return GeneratedImage(data, info.mime, info.width, info.height)

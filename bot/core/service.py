"""Running one admitted image job: quota reservation, the gateway call, the ledger.

    run(job)
      ├─ in-flight cap   at most N per user              → TooManyInFlight
      ├─ reserve         units or credits, the group's images and the bot's budget, in
      │                  one atomic statement            → QuotaExceeded, GroupQuotaExceeded,
      │                                                    BudgetExhausted (row: over_quota)
      ├─ HD slot         HD only: MAX_HD_IN_FLIGHT, held until delivered (bounded memory)
      ├─ gateway slot    FIFO, tells the queue position
      ├─ load inputs     through the ImageLoader port    → BadInput       (units released)
      ├─ gateway call                                     → GatewayError   (units released)
      ├─ (the caller delivers the images)                 → failure        (units released)
      └─ settle          ok (charged) / failed / no_image (released)

A job made of pending images that fails gives them back (`PendingImages.restore`), unless
one of them is unusable. The service knows nothing of Telegram: images come through the
`ImageLoader` port, which the Telegram adapter implements.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from bot.config import Settings
from bot.core.alerts import Alerts
from bot.core.charges import Charges
from bot.core.pending import PendingImages
from bot.core.queueing import GatewaySlots, InFlight, OnQueued
from bot.core.quota import QuotaPolicy
from bot.domain import (
    GatewayResult,
    ImageJob,
    InputImage,
    Interrupted,
    JobResult,
    NewRequest,
    Settlement,
    Status,
    Usage,
)
from bot.errors import (
    BadInput,
    BotError,
    GatewayError,
    GatewayOutage,
    NoImage,
    QuotaExceeded,
    ServiceDown,
    TelegramFailed,
    UnusableImage,
)
from bot.gateway.client import GatewayClient
from bot.ledger import Ledger

log = logging.getLogger("bot.requests")

MAX_IN_FLIGHT_PER_USER = 2


class ImageLoader(Protocol):
    """Fetches the images a job names, in order."""

    async def load(self, refs: Sequence[str]) -> list[InputImage]:
        """The images for `refs`; raise a `BadInput` subclass when one is unusable."""
        ...


@dataclass
class Outcome:
    """A made image on its way to the user: the adapter notes what it delivered."""

    result: JobResult
    bytes_delivered: int = 0


class ImageService:
    """Runs image jobs and keeps the ledger straight whatever happens."""

    def __init__(
        self,
        *,
        settings: Settings,
        gateway: GatewayClient,
        ledger: Ledger,
        loader: ImageLoader,
        quota: QuotaPolicy,
        pending: PendingImages,
        slots: GatewaySlots,
        in_flight: InFlight,
        alerts: Alerts,
    ) -> None:
        self._alerts = alerts
        self._charges = Charges(settings, ledger, quota, alerts)
        self._settings = settings
        self._gateway = gateway
        self._ledger = ledger
        self._loader = loader
        self._quota = quota
        self._pending = pending
        self._slots = slots
        self._hd_slots = GatewaySlots(settings.max_hd_in_flight)
        self._in_flight = in_flight

    @asynccontextmanager
    async def run(
        self,
        job: ImageJob,
        *,
        on_queued: OnQueued | None = None,
        on_started: Callable[[], object] | None = None,
    ) -> AsyncIterator[Outcome]:
        """Run `job`; the block delivers the result, and the ledger settles when it ends.

        `on_queued(position)` if it has to wait for a gateway slot; `on_started()` once it
        has one and its work begins. Raises a `BotError` subclass when no image can be
        made. The request is charged only if the block completes: a delivery that fails
        costs the user nothing.
        """
        try:
            async with (
                self._in_flight.claim(job.requester.user_id),
                contextlib.AsyncExitStack() as held,  # an HD slot, until the block ends
            ):
                request_id = await self._reserve(job)
                started = time.monotonic()
                result = await self._generate(request_id, job, started, on_queued, on_started, held)
                outcome = Outcome(JobResult(request_id, result.images))
                try:
                    yield outcome
                except BaseException as exc:
                    error = f"not delivered: {_describe(exc)}"
                    await self._settle(request_id, job, started, Status.FAILED, error, result)
                    raise
                await self._settle(
                    request_id, job, started, Status.OK, result=result, sent=outcome.bytes_delivered
                )
        except BotError as exc:
            if job.from_pending and not isinstance(exc, UnusableImage):
                await self._pending.restore(job.owner, job.images)
            raise

    async def release_interrupted(self) -> list[Interrupted]:
        """Fail the requests an earlier run left reserved (a crash); whom to tell."""
        interrupted = await self._ledger.requests.release_interrupted()
        if interrupted:
            log.warning("released %d reservation(s) left by an earlier run", len(interrupted))
        return interrupted

    def _record(self, job: ImageJob) -> NewRequest:
        who = job.requester
        return NewRequest(
            user_id=who.user_id,
            username=who.username,
            chat_id=who.chat_id,
            chat_type=who.chat_type,
            kind=job.kind.value,
            model=self._model(job),
            hd=job.hd,
            prompt=job.prompt,
            quota_day=self._quota.day(),
            aspect_ratio=job.aspect_ratio,
            inputs=job.images,
            reply_to=job.destination.reply_to,
            thread_id=job.destination.thread_id,
            language=who.language,
        )

    async def _reserve(self, job: ImageJob) -> int:
        try:
            return await self._charges.reserve(self._record(job), job)
        except QuotaExceeded as refusal:
            self._log(refusal.request_id or 0, job, Status.OVER_QUOTA, 0.0)
            raise

    async def _generate(
        self,
        request_id: int,
        job: ImageJob,
        started: float,
        on_queued: OnQueued | None,
        on_started: Callable[[], object] | None,
        held: contextlib.AsyncExitStack,
    ) -> GatewayResult:
        """The gateway's images; a failure settles the request (units released) and raises.

        An HD job first takes one of the `MAX_HD_IN_FLIGHT` slots, held (in `held`) until
        its result is delivered: what big results cost together depends on that setting,
        not on how many people ask at once.
        """
        try:
            if job.hd:
                await held.enter_async_context(self._hd_slots.slot(on_queued))
            async with self._slots.slot(on_queued):  # inputs are held in memory only in a slot
                if on_started is not None:
                    on_started()
                made = await self._gateway.generate(
                    model=self._model(job),
                    prompt=job.prompt,
                    # no name kept for them here: the gateway client lets them go once
                    # their request body is written (a 19 MB photo is held once)
                    images=await self._loader.load(job.images) if job.images else (),
                    aspect_ratio=job.aspect_ratio,
                )
                self._alerts.gateway_answered()
                return made
        except NoImage as exc:
            self._alerts.gateway_answered()
            await self._settle(
                request_id, job, started, Status.NO_IMAGE, exc.ledger_note, usage=exc.usage
            )
            raise
        except BaseException as exc:  # failures, bugs and cancellation alike release the units
            usage = None
            if isinstance(exc, GatewayError):
                self._alerts.gateway_failed(exc)
                usage = exc.usage
            await self._settle(request_id, job, started, Status.FAILED, _describe(exc), usage=usage)
            down = isinstance(exc, GatewayError) and not isinstance(exc, GatewayOutage)
            if down and self._alerts.failing:  # an outage: not each failure's own sentence
                raise ServiceDown(str(exc)) from exc
            raise

    async def _settle(
        self,
        request_id: int,
        job: ImageJob,
        started: float,
        status: Status,
        error: str | None = None,
        result: GatewayResult | None = None,
        *,
        usage: Usage | None = None,
        sent: int = 0,
    ) -> None:
        """Record the outcome; the gateway's cost counts whenever it made an image.

        `usage` is the gateway's token count when it answered without a usable image.
        """
        latency = time.monotonic() - started
        settlement = Settlement(
            status,
            error=error[:1000] if error else None,
            usage=result.usage if result else usage,
            cost=self._price(job) if result else 0.0,
            images=len(result.images) if status is Status.OK and result else 0,
            latency_ms=round(latency * 1000),
            bytes_delivered=sent,
        )
        # A cancelled job still releases its units.
        await asyncio.shield(self._ledger.requests.settle(request_id, settlement))
        self._log(request_id, job, status, latency, error)

    def _model(self, job: ImageJob) -> str:
        return self._settings.image_model_hd if job.hd else self._settings.image_model

    def _price(self, job: ImageJob) -> float:
        return self._settings.image_price_hd if job.hd else self._settings.image_price

    def _log(
        self,
        request_id: int,
        job: ImageJob,
        status: Status,
        latency: float,
        error: str | None = None,
    ) -> None:
        log.info(
            "request id=%d user=%d chat=%d kind=%s model=%s images_in=%d status=%s latency=%.2fs%s",
            request_id,
            job.requester.user_id,
            job.requester.chat_id,
            job.kind.value,
            self._model(job),
            len(job.images),
            status.value,
            latency,
            f" error={error!r}" if error and status is not Status.NO_IMAGE else "",
        )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.CancelledError):
        return "interrupted"
    if isinstance(exc, GatewayError | BadInput | TelegramFailed):
        return f"{type(exc).__name__}: {exc}"
    return f"internal error: {type(exc).__name__}"

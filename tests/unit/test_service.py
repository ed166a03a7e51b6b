"""`bot.core.service`: no interleaving of concurrent jobs spends more than the quota, and a
failed job of pending images gives them back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot import http_clients
from bot.config import Settings
from bot.core.alerts import Alerts
from bot.core.pending import PendingImages
from bot.core.queueing import GatewaySlots, InFlight
from bot.core.quota import QuotaPolicy
from bot.core.service import ImageService
from bot.domain import Destination, ImageJob, InputImage, JobResult, Owner, Requester
from bot.errors import GatewayBadRequest, InputImageInvalid, QuotaExceeded
from bot.gateway.client import GatewayClient
from bot.imaging import ImageWorker
from bot.ledger import Ledger, open_ledger
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import png
from tests.support.bot import API_KEY

ANN = Requester(1, 1)


class Images:
    """An image loader that gives a blank image per ref, or refuses one named "broken"."""

    async def load(self, refs: Sequence[str]) -> list[InputImage]:
        if "broken" in refs:
            raise InputImageInvalid("broken")
        return [InputImage(png(8, 8), "image/png") for _ in refs]


class Admins:
    """Where the service's alerts go: kept, to be read."""

    def __init__(self) -> None:
        self.told: list[str] = []

    def tell_admins(self, key: str, values: dict[str, object]) -> None:
        self.told.append(key)


@asynccontextmanager
async def service_for(
    settings: Settings, gateway: FakeGateway, path: Path
) -> AsyncIterator[tuple[ImageService, Ledger]]:
    worker = ImageWorker(2)
    client = GatewayClient(
        http_clients.transport(32, gateway.url),
        worker,
        base_url=gateway.url,
        api_key=API_KEY,
        group="default",
        timeout=10,
    )
    try:
        async with open_ledger(path) as ledger:
            yield (
                ImageService(
                    settings=settings,
                    gateway=client,
                    ledger=ledger,
                    loader=Images(),
                    quota=QuotaPolicy.from_settings(settings),
                    pending=PendingImages(ledger.pending),
                    slots=GatewaySlots(32),
                    in_flight=InFlight(100),
                    alerts=Alerts(Admins()),
                ),
                ledger,
            )
    finally:
        await client.aclose()
        worker.close()


class TestQuota:
    """No interleaving of concurrent requests spends more than the limit."""

    async def test_twenty_simultaneous_requests_with_a_quota_of_three(
        self, make_settings: Callable[..., Settings], gateway: FakeGateway, tmp_path: Path
    ) -> None:
        """Exactly 3 images; 17 refusals; the gateway is called 3 times."""
        gateway.default = gw.markdown(png(), delay=0.2)
        settings = make_settings(daily_quota=3)
        job = ImageJob(ANN, Destination(1), "a corgi")
        async with service_for(settings, gateway, tmp_path / "q.sqlite3") as (service, ledger):

            async def request() -> JobResult:
                async with service.run(job) as outcome:
                    return outcome.result

            outcomes = await asyncio.gather(*(request() for _ in range(20)), return_exceptions=True)
            day = QuotaPolicy.from_settings(settings).day()
            assert await ledger.spending.used_units(1, day) == 3
        assert sum(isinstance(o, JobResult) for o in outcomes) == 3
        assert sum(isinstance(o, QuotaExceeded) for o in outcomes) == 17
        assert len(gateway.requests) == 3


class TestPendingImages:
    """A job of pending images that fails keeps them, unless one of them is unusable."""

    @pytest.mark.parametrize(("refs", "kept"), [(("a", "b"), ("a", "b")), (("broken",), ())])
    async def test_failure_keeps_them(
        self,
        make_settings: Callable[..., Settings],
        gateway: FakeGateway,
        tmp_path: Path,
        refs: tuple[str, ...],
        kept: tuple[str, ...],
    ) -> None:
        """The gateway refuses: kept for the next text. An image is broken: dropped."""
        gateway.default = gw.error(400, "nope")
        job = ImageJob(ANN, Destination(1), "merge", refs, from_pending=True)
        async with service_for(make_settings(), gateway, tmp_path / "p.sqlite3") as (
            service,
            ledger,
        ):
            with pytest.raises((GatewayBadRequest, InputImageInvalid)):
                async with service.run(job):
                    pass
            assert await PendingImages(ledger.pending).peek(Owner(1, 1)) == kept


class TestHdSlots:
    """HD results in flight are bounded by MAX_HD_IN_FLIGHT, until each is delivered."""

    async def test_the_next_hd_job_waits_for_a_delivery(
        self, make_settings: Callable[..., Settings], gateway: FakeGateway, tmp_path: Path
    ) -> None:
        settings = make_settings(max_hd_in_flight=1, daily_quota=0)
        first, second = (
            ImageJob(Requester(n, n), Destination(n), "a castle", hd=True) for n in (1, 2)
        )
        async with service_for(settings, gateway, tmp_path / "hd.sqlite3") as (service, _):
            delivering = asyncio.Event()
            queued: list[int] = []

            async def deliver_slowly() -> None:
                async with service.run(first):
                    delivering.set()
                    await asyncio.sleep(0.5)  # the upload of a big result

            async def then_second() -> None:
                await delivering.wait()
                async with service.run(second, on_queued=lambda p: _note(queued, p)):
                    pass

            await asyncio.gather(deliver_slowly(), then_second())
        assert queued == [1]
        assert len(gateway.requests) == 2


async def _note(queued: list[int], position: int) -> None:
    queued.append(position)

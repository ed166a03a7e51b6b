"""`bot.core.queueing`: FIFO gateway slots with queue positions, and the per-user cap."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.queueing import GatewaySlots, InFlight
from bot.errors import TooManyInFlight


class TestGatewaySlots:
    """A FIFO semaphore that tells waiters their place."""

    async def test_positions_and_order(self) -> None:
        """Waiters hear their place and get the slot in arrival order."""
        slots = GatewaySlots(1)
        release = asyncio.Event()
        order: list[str] = []
        told: list[int] = []

        async def tell(position: int) -> None:
            told.append(position)

        async def use(name: str) -> None:
            async with slots.slot(tell):
                order.append(name)
                await release.wait()

        tasks = [asyncio.create_task(use(n)) for n in ("a", "b", "c")]
        await asyncio.sleep(0.01)
        assert told == [1, 2]
        release.set()
        await asyncio.gather(*tasks)
        assert order == ["a", "b", "c"]

    async def test_cancelling_holder_and_waiter_together(self) -> None:
        """A stop cancels the holder and a waiter in one tick: no error, no slot lost."""
        slots = GatewaySlots(1)
        hold = asyncio.Event()

        async def holder() -> None:
            async with slots.slot():
                await hold.wait()

        async def waiter() -> None:
            async with slots.slot():
                pass

        first = asyncio.create_task(holder())
        await asyncio.sleep(0)
        second = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        first.cancel()
        second.cancel()
        results = await asyncio.gather(first, second, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        async with asyncio.timeout(1), slots.slot():  # the one slot is free again
            pass


class TestInFlight:
    """At most N requests per user."""

    async def test_cap(self) -> None:
        """The third concurrent claim is refused; a finished one frees a place."""
        in_flight = InFlight(2)
        async with in_flight.claim(1), in_flight.claim(1):
            with pytest.raises(TooManyInFlight):
                async with in_flight.claim(1):
                    pass
            async with in_flight.claim(2):  # other users are not affected
                pass
        async with in_flight.claim(1):
            pass

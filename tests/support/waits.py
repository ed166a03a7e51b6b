"""Waiting for something to become true, with a deadline: the one way tests and bench wait.

    await wait_until(lambda: bot.returncode is not None, within=5, what="the bot to exit")
    request = await wait_for(lambda: gateway.requests[-1:] or None, what="a gateway request")

Both poll `condition` every `interval` seconds, or, given a `Pulse`, whenever it beats: a
recorder that beats on each new record (the bench's fake Bot API) lets hundreds of waiters
sleep until there is something new to look at, instead of polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition did not hold in time (an AssertionError, so pytest shows it as such)."""


class Pulse:
    """An event that re-arms itself: `beat()` wakes every current waiter."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def beat(self) -> None:
        """Wake whoever waits now."""
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 - a deadline is the point
        """Until the next beat, or `timeout` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)


async def wait_until(
    condition: Callable[[], object],
    *,
    within: float = 15.0,
    what: str | Callable[[], str] = "condition",
    interval: float = 0.02,
    pulse: Pulse | None = None,
) -> None:
    """Return once `condition()` is true; `WaitTimeout` after `within` seconds.

    `what` names the condition in the error (a callable is asked only on time-out).
    """
    deadline = time.monotonic() + within
    while not condition():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            described = what() if callable(what) else what
            raise WaitTimeout(f"{described} not met within {within:g}s")
        if pulse is None:
            await asyncio.sleep(min(interval, remaining))
        else:
            await pulse.wait(remaining)


async def wait_for(
    get: Callable[[], T | None],
    *,
    within: float = 15.0,
    what: str | Callable[[], str] = "a value",
    interval: float = 0.02,
    pulse: Pulse | None = None,
) -> T:
    """The first non-None `get()`, waited for as `wait_until` waits."""
    found: list[T] = []

    def present() -> bool:
        value = get()
        if value is not None:
            found.append(value)
        return value is not None

    await wait_until(present, within=within, what=what, interval=interval, pulse=pulse)
    return found[0]

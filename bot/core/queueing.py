"""Waiting in line: gateway slots shared by everyone, and a per-user cap on requests in flight."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from bot.errors import TooManyInFlight

OnQueued = Callable[[int], Awaitable[None]]


class GatewaySlots:
    """A FIFO semaphore that tells a waiter its place in the queue."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def slot(self, on_queued: OnQueued | None = None) -> AsyncIterator[None]:
        """Hold one slot for the duration of the block; `on_queued(position)` if waiting."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
        else:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                if on_queued is not None:
                    await on_queued(len(self._waiters))
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._release()  # the slot was handed over just as we were cancelled
                else:
                    with contextlib.suppress(ValueError):  # a release may have dropped it
                        self._waiters.remove(waiter)
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes straight to the next waiter
                return
        self._free += 1


class InFlight:
    """Counts each user's running requests and refuses one over the cap.

    The first refusal after a request of theirs finished is new; the next ones, until
    another finishes, are `repeated`.
    """

    def __init__(self, per_user: int) -> None:
        self._per_user = per_user
        self._running: Counter[int] = Counter()
        self._told: set[int] = set()

    @asynccontextmanager
    async def claim(self, user_id: int) -> AsyncIterator[None]:
        """Count one request for the user; raise `TooManyInFlight` at the cap."""
        if self._running[user_id] >= self._per_user:
            repeated = user_id in self._told
            self._told.add(user_id)
            raise TooManyInFlight(user_id, repeated=repeated)
        self._running[user_id] += 1
        try:
            yield
        finally:
            self._running[user_id] -= 1
            self._told.discard(user_id)
            if not self._running[user_id]:
                del self._running[user_id]

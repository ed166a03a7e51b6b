"""Pending images: photos sent without an instruction wait 10 minutes for the user's text.

The rules live here, the rows in `bot.ledger.pending`:

- a user's messages in one chat are taken one at a time, in the order they were sent
  (`turn`), so each sees the pending images the one before it left: photo, text, photo in
  quick succession edits the first photo and keeps the second;
- images kept again renew the whole set's 10 minutes;
- a job made of pending images that fails keeps them for the next text (`restore`), unless
  an image itself is unusable, which would fail every text.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.domain import Owner
from bot.ledger.pending import PendingStore

#: Seconds pending images wait for an instruction.
PENDING_TTL = 600.0


class PendingImages:
    """Each user's waiting images, and the order in which their messages are taken."""

    def __init__(
        self,
        store: PendingStore,
        *,
        ttl: float = PENDING_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._turns: dict[Owner, _Turn] = {}

    @asynccontextmanager
    async def turn(self, owner: Owner) -> AsyncIterator[None]:
        """Hold the owner's turn: their messages are taken one after another, in order.

        Enter it before the handler's first await: tasks start in update order, and an
        uncontended lock is taken without yielding, so the order of arrival is kept.
        """
        turn = self._turns.setdefault(owner, _Turn())
        turn.waiting += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.waiting -= 1
            if not turn.waiting:
                del self._turns[owner]

    async def keep(self, owner: Owner, refs: Sequence[str]) -> int:
        """Keep images until the owner's next instruction; how many are waiting now."""
        now = self._clock()
        return await self._store.add(owner, refs, now=now, expires_at=now + self._ttl)

    async def peek(self, owner: Owner) -> tuple[str, ...]:
        """The owner's waiting images, oldest first, left in place."""
        return await self._store.peek(owner, self._clock())

    async def drop(self, owner: Owner) -> int:
        """Forget the owner's waiting images (used, or cancelled); how many there were."""
        return await self._store.drop(owner, self._clock())

    async def restore(self, owner: Owner, refs: Sequence[str]) -> None:
        """Put back the images of a job that failed, for the next instruction."""
        await self.keep(owner, refs)


@dataclass
class _Turn:
    """One owner's lock, and how many messages hold or wait for it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0

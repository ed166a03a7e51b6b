"""Pending images: photos sent without an instruction wait 10 minutes for the user's text.

The rules live here, the rows in `bot.ledger.pending`:

- a user's messages in one chat are taken one at a time, in the order they were sent
  (`turn`), so each sees the pending images the one before it left: photo, text, photo in
  quick succession edits the first photo and keeps the second;
- images kept again renew the whole set's 10 minutes;
- a job made of pending images that fails keeps them for the next text (`restore`, which
  takes the owner's turn like a message), unless an image itself is unusable, which would
  fail every text.

Most messages find nothing waiting: which users have images kept, and until when, is read
from the ledger once and then kept here, so a text from anyone else is decided without a
trip to the database. It is per user, not per chat, so it stays true when a group's images
move with it to its supergroup.
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
        self._until: dict[int, float] | None = None  # user → last expiry; read when first needed
        self._pruned_at = 0  # entries there were after the last pruning

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
        until = await self._deadlines()
        now = self._clock()
        count = await self._store.add(owner, refs, now=now, expires_at=now + self._ttl)
        until[owner.user_id] = now + self._ttl
        if len(until) > 2 * self._pruned_at + 64:
            for user_id in [user for user, expiry in until.items() if expiry < now]:
                del until[user_id]
            self._pruned_at = len(until)
        return count

    async def peek(self, owner: Owner) -> tuple[str, ...]:
        """The owner's waiting images, oldest first, left in place."""
        now = self._clock()
        if (await self._deadlines()).get(owner.user_id, 0.0) < now:
            return ()  # nothing kept, or all of it expired
        return await self._store.peek(owner, now)

    async def drop(self, owner: Owner) -> int:
        """Forget the owner's waiting images (used, or cancelled); how many there were."""
        return await self._store.drop(owner, self._clock())

    async def restore(self, owner: Owner, refs: Sequence[str]) -> None:
        """Put back the images of a job that failed, for the next instruction: in the
        owner's turn, as a message would, so a text taken meanwhile sees them all or none
        (the job itself ran outside it)."""
        async with self.turn(owner):
            await self.keep(owner, refs)

    async def _deadlines(self) -> dict[int, float]:
        if self._until is None:
            loaded = await self._store.deadlines()
            # Two first uses at once both read; the first read kept is the one that may
            # already have entries added: a later read must not replace it.
            if self._until is None:
                self._until = loaded
        return self._until


@dataclass
class _Turn:
    """One owner's lock, and how many messages hold or wait for it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0

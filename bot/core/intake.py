"""From what a user asked to a job: admission once, pending images, the decision.

    take(asked)
      ├─ not for the bot (groups: not addressed) ─── None: silence
      ├─ access: allow-lists and bans ───────────── AccessDenied (row: denied)
      ├─ pending images, if the message may use them
      ├─ decide() ────────────────────────────────── explain: the error is raised
      │                                              keep:    images kept, "got N images"
      └─ a job, with the notes to say first          (pending images it uses are taken)

Handlers enter `turn(owner)` first, so that one user's messages in a chat are taken in the
order they were sent (see `bot.core.pending`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.core.access import Access
from bot.core.decision import Explain, Keep, Note, decide, for_the_bot, may_use_pending, wants_image
from bot.core.pending import PendingImages
from bot.domain import Asked, Destination, ImageJob, Owner, Requester
from bot.errors import InputsGone
from bot.ledger.requests import RequestLog


@dataclass(frozen=True, slots=True)
class Taken:
    """What to do with a message: say the notes, then run the job (if there is one)."""

    notes: tuple[Note, ...]
    job: ImageJob | None = None


class Intake:
    """Admits requests and turns messages and button presses into jobs."""

    def __init__(
        self, access: Access, pending: PendingImages, requests: RequestLog, *, max_images: int
    ) -> None:
        self._access = access
        self._pending = pending
        self._requests = requests
        self._max_images = max_images

    @asynccontextmanager
    async def turn(self, owner: Owner) -> AsyncIterator[None]:
        """Hold the owner's turn (see `PendingImages.turn`)."""
        async with self._pending.turn(owner):
            yield

    async def take(self, asked: Asked, *, admitted: bool = False) -> Taken | None:
        """Admit and decide `asked`; None when the bot stays silent. Raises what it explains.

        `admitted`: `admit(asked)` has passed already (an album is admitted while it arrives).
        """
        if not for_the_bot(asked):
            return None
        if not admitted:
            await self.admit(asked)
        owner = asked.owner
        pending = await self._pending.peek(owner) if may_use_pending(asked) else ()
        decision = decide(asked, pending, self._max_images)
        if isinstance(decision, Explain):
            raise decision.error
        if isinstance(decision, Keep):
            count = await self._pending.keep(owner, decision.images)
            return Taken((*decision.notes, Note.of("pending_saved", count=count)))
        if decision.job.from_pending:
            await self._pending.drop(owner)
        return Taken(decision.notes, decision.job)

    async def admit(self, asked: Asked) -> None:
        """`AccessDenied` if the sender may not ask this; a refused image request is recorded."""
        await self._access.admit(asked.requester, asked if wants_image(asked) else None)

    async def rerun(
        self, requester: Requester, destination: Destination, request_id: int, *, hd: bool
    ) -> ImageJob:
        """The job behind a result's button, for whoever pressed it, in that result's chat."""
        await self._access.admit(requester)
        stored = await self._requests.get(request_id)
        if stored is None or stored.chat_id != requester.chat_id:
            raise InputsGone(str(request_id))
        return ImageJob(
            requester,
            destination,
            stored.prompt,
            stored.inputs,
            hd=hd or stored.hd,
            aspect_ratio=stored.aspect_ratio,
        )

    async def cancel(self, owner: Owner, requester: Requester) -> int:
        """Drop the requester's pending images here (/cancel); how many there were."""
        await self._access.admit(requester)
        return await self._pending.drop(owner)

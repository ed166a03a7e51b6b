"""`bot.core.intake` and `bot.core.pending`: admission once, pending images, turns.

Run against a real ledger file; no Telegram involved.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.core.access import Access
from bot.core.intake import Intake, Taken
from bot.core.moves import ChatMoves
from bot.core.pending import PendingImages
from bot.core.quota import QuotaPolicy
from bot.domain import Asked, Destination, NewRequest, Owner, Requester, Status
from bot.errors import AccessDenied, InputsGone
from bot.ledger import Ledger, open_ledger

ANN = Requester(1, 1, "private", "ann", "en")


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, telegram_bot_token="1:x", image_api_key="k", **values)


def message(text: str = "", *images: str, message_id: int = 1) -> Asked:
    return Asked(ANN, Destination(1, message_id), addressed=True, text=text, images=images)


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    async with open_ledger(tmp_path / "bot.sqlite3") as opened:
        yield opened


def intake_for(ledger: Ledger, **values: object) -> Intake:
    config = settings(**values)
    quota = QuotaPolicy.from_settings(config)
    access = Access(
        config, ledger.users, ledger.requests, quota, ChatMoves(ledger.moves), ledger.chats
    )
    return Intake(access, PendingImages(ledger.pending), ledger.requests, max_images=10)


async def take_in_turn(intake: Intake, asked: Asked) -> Taken | None:
    async with intake.turn(asked.owner):
        return await intake.take(asked)


class TestTurns:
    """One user's messages are taken in the order they were sent."""

    async def test_text_right_after_its_photos_finds_them(self, ledger: Ledger) -> None:
        """Photo and text handled at once: the text still edits the photo."""
        intake = intake_for(ledger)
        photo = asyncio.create_task(take_in_turn(intake, message("", "p1")))
        text = asyncio.create_task(take_in_turn(intake, message("make it blue", message_id=2)))
        kept, edit = await photo, await text
        assert kept is not None and kept.job is None
        assert edit is not None and edit.job is not None and edit.job.images == ("p1",)

    async def test_photo_after_the_text_waits_for_the_next(self, ledger: Ledger) -> None:
        """Photo, text, photo in quick succession: the second photo is kept for later."""
        intake = intake_for(ledger)
        steps = [message("", "p1"), message("go", message_id=2), message("", "p2", message_id=3)]
        tasks = [asyncio.create_task(take_in_turn(intake, step)) for step in steps]
        taken = await asyncio.gather(*tasks)
        assert taken[1] is not None and taken[1].job is not None
        assert taken[1].job.images == ("p1",)
        later = await take_in_turn(intake, message("again", message_id=4))
        assert later is not None and later.job is not None and later.job.images == ("p2",)

    async def test_kept_images_are_counted(self, ledger: Ledger) -> None:
        """Each photo kept says how many are waiting."""
        intake = intake_for(ledger)
        await take_in_turn(intake, message("", "p1"))
        second = await take_in_turn(intake, message("", "p2", message_id=2))
        assert second is not None and [(n.key, dict(n.values)) for n in second.notes] == [
            ("pending_saved", {"count": 2})
        ]


class TestAdmission:
    """Admission happens once, and only image requests are recorded when refused."""

    async def test_refused_image_request_is_recorded(self, ledger: Ledger) -> None:
        """A banned user's text is a denied request in the ledger; a command is not."""
        await ledger.users.set_banned(1, True)
        intake = intake_for(ledger)
        with pytest.raises(AccessDenied):
            await take_in_turn(intake, message("a cat", "img"))
        with pytest.raises(AccessDenied):
            await intake.cancel(Owner(1, ANN.chat_id), ANN)
        [row] = await ledger.requests.recent(1)
        assert (row.status, row.kind, row.prompt, row.inputs) == (
            "denied",
            "edit",
            "a cat",
            ("img",),
        )

    async def test_buttons_rerun_their_request_in_its_own_chat(self, ledger: Ledger) -> None:
        """ "HD" reruns the stored request with the HD model; from another chat it is gone."""
        stored = NewRequest(
            1,
            "ann",
            1,
            "private",
            "edit",
            "m",
            False,
            "a cat",
            "2026-12-01",
            aspect_ratio="3:2",
            inputs=("img",),
        )
        request_id = await ledger.requests.record(stored, Status.OK)
        intake = intake_for(ledger)
        there = Destination(1, 5)
        job = await intake.rerun(ANN, there, request_id, hd=True)
        assert (job.prompt, job.images, job.hd, job.aspect_ratio) == (
            "a cat",
            ("img",),
            True,
            "3:2",
        )
        assert job.destination == there
        elsewhere = Requester(1, -100, "group")
        with pytest.raises(InputsGone):
            await intake.rerun(elsewhere, Destination(-100, 5), request_id, hd=False)


async def test_a_ban_made_at_first_use_holds(ledger: Ledger) -> None:
    """An admin's /ban and another user's request, the first things after a start, at once:
    the ban is enforced at once (bans are kept in memory after one read)."""
    config = settings()
    access = Access(
        config,
        ledger.users,
        ledger.requests,
        QuotaPolicy.from_settings(config),
        ChatMoves(ledger.moves),
        ledger.chats,
    )
    await asyncio.gather(access.set_banned(7, True), access.allows(2, 2))
    assert not await access.allows(7, 7)
    await access.set_banned(7, False)
    assert await access.allows(7, 7)

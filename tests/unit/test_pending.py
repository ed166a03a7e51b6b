"""`bot.core.pending`: what it remembers of who has images waiting never hides an image the
ledger holds: kept by an earlier run, moved to a supergroup, kept in another chat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.moves import ChatMoves
from bot.core.pending import PendingImages
from bot.domain import Owner
from bot.ledger import Ledger, open_ledger


class Clock:
    """Seconds that pass only when told to."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    async with open_ledger(tmp_path / "bot.sqlite3") as opened:
        yield opened


async def test_images_kept_by_an_earlier_run_are_found(ledger: Ledger) -> None:
    clock = Clock()
    await PendingImages(ledger.pending, clock=clock).keep(Owner(1, 1), ["a", "b"])
    after_restart = PendingImages(ledger.pending, clock=clock)
    assert await after_restart.peek(Owner(1, 1)) == ("a", "b")
    assert await after_restart.peek(Owner(2, 2)) == ()


async def test_images_follow_their_group_to_the_supergroup(ledger: Ledger) -> None:
    """The user's images are known before the move; after it they are at the new id."""
    pending = PendingImages(ledger.pending, clock=Clock())
    await pending.keep(Owner(1, -5), ["kept"])
    assert await pending.peek(Owner(1, 1)) == ()  # known: waiting elsewhere, not here
    await ChatMoves(ledger.moves).record(-5, -1005)
    assert await pending.peek(Owner(1, -1005)) == ("kept",)
    assert await pending.peek(Owner(1, -5)) == ()


async def test_images_in_two_chats_and_their_expiry(ledger: Ledger) -> None:
    clock = Clock()
    pending = PendingImages(ledger.pending, ttl=600, clock=clock)
    await pending.keep(Owner(1, 1), ["private"])
    clock.now += 300
    await pending.keep(Owner(1, -7, 3), ["topic"])
    assert await pending.drop(Owner(1, -7, 3)) == 1
    assert await pending.peek(Owner(1, 1)) == ("private",)  # the drop left the other chat's
    clock.now += 301
    assert await pending.peek(Owner(1, 1)) == ()  # expired
    await pending.restore(Owner(1, 1), ["again"])
    assert await pending.peek(Owner(1, 1)) == ("again",)


async def test_first_uses_at_once_lose_nothing(ledger: Ledger) -> None:
    """The first messages after a start, from two users at once (Telegram's backlog): the
    photo one of them keeps is found by their next text."""
    pending = PendingImages(ledger.pending, clock=Clock())
    await asyncio.gather(pending.keep(Owner(1, 1), ["photo"]), pending.peek(Owner(2, 2)))
    assert await pending.peek(Owner(1, 1)) == ("photo",)


async def test_images_put_back_are_found_while_being_written(ledger: Ledger) -> None:
    """A job made of pending images fails after they expired: a text from the same user,
    taken in its turn while they are being put back, finds them."""
    clock = Clock()
    pending = PendingImages(ledger.pending, ttl=600, clock=clock)
    await pending.keep(Owner(1, 1), ["a"])
    assert await pending.drop(Owner(1, 1)) == 1
    clock.now += 700
    restoring = asyncio.create_task(pending.restore(Owner(1, 1), ["a"]))
    await asyncio.sleep(0)  # the restore has begun writing
    async with pending.turn(Owner(1, 1)):
        assert await pending.peek(Owner(1, 1)) == ("a",)
    await restoring


async def test_many_users_each_find_their_own(ledger: Ledger) -> None:
    """Hundreds of users keep images, the first ones expire: each finds their own, the
    expired find nothing."""
    clock = Clock()
    pending = PendingImages(ledger.pending, ttl=10, clock=clock)
    for user in range(1, 101):
        await pending.keep(Owner(user, user), [f"old-{user}"])
    clock.now += 20
    for user in range(101, 301):
        await pending.keep(Owner(user, user), [f"new-{user}"])
    assert await pending.peek(Owner(5, 5)) == ()
    assert all([await pending.peek(Owner(u, u)) == (f"new-{u}",) for u in range(101, 301)])

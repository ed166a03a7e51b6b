"""`bot.ledger.spending` and `bot.ledger.payments`: every limit reserved in one statement,
credits derived from payments, refunds that never take the balance below zero."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain import NewRequest, Settlement, Status
from bot.ledger import Ledger, open_ledger
from bot.money import Charge, Pack, to_micros

DAY = "2026-12-03"
PRICE = to_micros("0.028")


def request(user_id: int = 1, chat_id: int | None = None) -> NewRequest:
    chat = user_id if chat_id is None else chat_id
    chat_type = "private" if chat > 0 else "supergroup"
    return NewRequest(user_id, None, chat, chat_type, "generate", "m", False, "a cat", DAY)


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    async with open_ledger(tmp_path / "bot.sqlite3") as opened:
        yield opened


async def buy(ledger: Ledger, user_id: int, images: int, charge: str = "ch-1") -> None:
    pack = Pack(images, 50)
    assert await ledger.payments.add(charge, user_id, images, 50, pack.payload(user_id))


async def test_fifty_requests_against_a_budget_of_three_images(ledger: Ledger) -> None:
    """50 users at once, DAILY_BUDGET = 3 images' cost: exactly 3 reserved."""
    charge = Charge(1, limit=20, budget=3 * PRICE, price=PRICE)
    spent = await asyncio.gather(
        *(ledger.spending.reserve(request(u), charge, in_group=False) for u in range(1, 51))
    )
    assert sum(s is not None for s in spent) == 3
    assert await ledger.spending.day_spend(DAY) == 3 * PRICE


async def test_group_quota_of_two_against_five_members(ledger: Ledger) -> None:
    charge = Charge(1, limit=20, group_limit=2, price=PRICE)
    spent = await asyncio.gather(
        *(ledger.spending.reserve(request(u, -100), charge, in_group=True) for u in range(1, 6))
    )
    assert sum(s is not None for s in spent) == 2


async def test_credits_pass_the_group_quota_but_not_the_budget(ledger: Ledger) -> None:
    await buy(ledger, 7, 5)
    full_group = Charge(1, limit=20, group_limit=0, budget=2 * PRICE, price=PRICE)
    first = await ledger.spending.reserve(request(7, -100), full_group, in_group=True)
    second = await ledger.spending.reserve(request(7, -100), full_group, in_group=True)
    third = await ledger.spending.reserve(request(7, -100), full_group, in_group=True)
    assert first is not None and first.credits == 1
    assert second is not None and second.credits == 1
    assert third is None  # the budget holds for credits too
    assert await ledger.spending.balance(7) == 3


async def test_free_units_first_then_credits(ledger: Ledger) -> None:
    await buy(ledger, 1, 2)
    charge = Charge(1, limit=1)
    spent = [await ledger.spending.reserve(request(), charge, in_group=False) for _ in range(4)]
    assert [s.credits if s else None for s in spent] == [0, 1, 1, None]


async def test_a_failed_image_leaves_credits_untouched(ledger: Ledger) -> None:
    await buy(ledger, 1, 1)
    spent = await ledger.spending.reserve(request(), Charge(1, limit=None), in_group=False)
    assert spent is not None
    paid = await ledger.spending.reserve(request(), Charge(1, limit=1), in_group=False)
    assert paid is not None and paid.credits == 1
    assert await ledger.spending.balance(1) == 0
    await ledger.requests.settle(paid.request_id, Settlement(Status.FAILED, error="boom"))
    assert await ledger.spending.balance(1) == 1


async def test_one_payment_is_credited_once(ledger: Ledger) -> None:
    await buy(ledger, 1, 20)
    assert not await ledger.payments.add("ch-1", 1, 20, 50, Pack(20, 50).payload(1))
    assert await ledger.spending.balance(1) == 20


async def test_a_refund_takes_back_at_most_the_balance(ledger: Ledger) -> None:
    await buy(ledger, 1, 3)
    for paid_with in (0, 1, 1):  # the day's one free unit, then two credits
        spent = await ledger.spending.reserve(request(), Charge(1, limit=1), in_group=False)
        assert spent is not None and spent.credits == paid_with
        await ledger.requests.settle(spent.request_id, Settlement(Status.OK, images=1))
    assert await ledger.payments.refund("ch-1") == 1
    assert await ledger.spending.balance(1) == 0
    assert await ledger.payments.refund("ch-1") is None  # refunded once
    payment = await ledger.payments.get("ch-1")
    assert payment is not None and payment.status == "refunded"


async def test_a_users_own_limit_is_read_in_the_reservation(ledger: Ledger) -> None:
    """What an admin set wins over the default: a number, unlimited, and zero, which
    switches the user off (credits included); a user with none has the default."""
    await ledger.users.set_quota(1, 2)
    await ledger.users.set_quota(2, None)
    await ledger.users.set_quota(3, 0)
    await buy(ledger, 3, 5)
    await ledger.users.set_banned(4, False)  # a row, but no limit of its own
    default = Charge(1, limit=1)

    async def count(user_id: int, tries: int) -> int:
        spent = [
            await ledger.spending.reserve(request(user_id), default, in_group=False)
            for _ in range(tries)
        ]
        return sum(s is not None for s in spent)

    assert await count(1, 4) == 2
    assert await count(2, 4) == 4
    assert await count(3, 2) == 0
    assert await ledger.spending.balance(3) == 5
    assert await count(4, 3) == 1
    assert await count(5, 3) == 1


async def test_a_groups_own_limit_is_read_in_the_reservation(ledger: Ledger) -> None:
    """A group's own limit wins over the default, unlimited included; outside a group no
    group limit applies."""
    await ledger.chats.set_limit(-100, 1)
    await ledger.chats.set_limit(-200, None)
    default = Charge(1, limit=20, group_limit=3)

    async def count(chat_id: int, *, in_group: bool = True) -> int:
        spent = [
            await ledger.spending.reserve(request(u, chat_id), default, in_group=in_group)
            for u in range(1, 6)
        ]
        return sum(s is not None for s in spent)

    assert await count(-100) == 1
    assert await count(-200) == 5
    assert await count(-300) == 3
    assert await count(-100, in_group=False) == 5

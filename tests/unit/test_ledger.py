"""`bot.ledger`: atomic reservations, settlement, users, pending rows, migrations, recovery."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain import Destination, NewRequest, Owner, Settlement, Status, Usage, UserSettings
from bot.ledger import Ledger, open_ledger
from bot.ledger.migrations import MIGRATIONS
from bot.money import Charge


def request(user_id: int = 1, day: str = "2026-11-24", **fields: object) -> NewRequest:
    values: dict[str, object] = {
        "user_id": user_id,
        "username": "ann",
        "chat_id": user_id,
        "chat_type": "private",
        "kind": "generate",
        "model": "m",
        "hd": False,
        "prompt": "a corgi",
        "quota_day": day,
    }
    values.update(fields)
    return NewRequest(**values)  # type: ignore[arg-type]


async def reserve(ledger: Ledger, new: NewRequest, units: int, limit: int | None) -> int | None:
    """Reserve against the user's limit only; the row's id, or None."""
    spent = await ledger.spending.reserve(new, Charge(units, limit), in_group=False)
    return None if spent is None else spent.request_id


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    async with open_ledger(tmp_path / "data" / "bot.sqlite3") as opened:
        yield opened


class TestReservations:
    """Reservations never let a user spend more than the limit."""

    async def test_concurrent_reservations_respect_the_limit(self, ledger: Ledger) -> None:
        """20 simultaneous reservations against a limit of 3: exactly 3 succeed."""
        results = await asyncio.gather(*(reserve(ledger, request(), 1, 3) for _ in range(20)))
        granted = [r for r in results if r is not None]
        assert len(granted) == 3
        assert await ledger.spending.used_units(1, "2026-11-24") == 3

    async def test_failures_release_their_units(self, ledger: Ledger) -> None:
        """Failed and no-image rows stop counting; successes keep counting."""
        log = ledger.requests
        ids = [await reserve(ledger, request(), 1, 3) for _ in range(3)]
        assert all(ids) and await reserve(ledger, request(), 1, 3) is None
        assert ids[0] and ids[1] and ids[2]
        await log.settle(ids[0], Settlement(Status.FAILED, error="boom"))
        await log.settle(ids[1], Settlement(Status.NO_IMAGE, error="refused"))
        ok = Settlement(Status.OK, cost=0.028, images=1, usage=Usage(1, 2, 3))
        await log.settle(ids[2], ok)
        assert await ledger.spending.used_units(1, "2026-11-24") == 1
        assert await reserve(ledger, request(), 1, 3) is not None

    async def test_settle_only_once(self, ledger: Ledger) -> None:
        """A row settles once; a second settle changes nothing."""
        log = ledger.requests
        rid = await reserve(ledger, request(), 1, None)
        assert rid is not None
        assert await log.settle(rid, Settlement(Status.OK, images=1))
        assert not await log.settle(rid, Settlement(Status.FAILED))
        stored = await log.get(rid)
        assert stored is not None and stored.status == "ok"

    async def test_units_are_per_day_and_per_user(self, ledger: Ledger) -> None:
        """Yesterday's and other users' units do not count."""
        assert await reserve(ledger, request(day="2026-11-23"), 1, 1)
        assert await reserve(ledger, request(user_id=2), 1, 1)
        assert await reserve(ledger, request(), 1, 1)
        assert await reserve(ledger, request(), 1, 1) is None

    async def test_hd_units(self, ledger: Ledger) -> None:
        """An HD request reserves its cost in units."""
        assert await reserve(ledger, request(hd=True), 3, 4)
        assert await reserve(ledger, request(hd=True), 3, 4) is None
        assert await reserve(ledger, request(), 1, 4)

    async def test_rows_read_back_by_name(self, ledger: Ledger) -> None:
        """A stored row comes back with every field it was written with."""
        rid = await reserve(
            ledger,
            request(hd=True, aspect_ratio="16:9", inputs=("f1", "f2"), kind="merge"),
            1,
            None,
        )
        stored = await ledger.requests.get(rid or 0)
        assert stored is not None
        assert (stored.user_id, stored.kind, stored.hd, stored.aspect_ratio, stored.inputs) == (
            1,
            "merge",
            True,
            "16:9",
            ("f1", "f2"),
        )
        assert await ledger.requests.get(12345) is None


class TestRecovery:
    """A crash never leaves units reserved for ever."""

    async def test_reservations_left_by_a_killed_process_are_released(self, tmp_path: Path) -> None:
        """Rows still reserved when the process died are failed at the next open."""
        path = tmp_path / "bot.sqlite3"
        async with open_ledger(path) as first:
            rid = await reserve(first, request(), 1, 3)
        # the process "died" with the row reserved
        async with open_ledger(path) as second:
            [interrupted] = await second.requests.release_interrupted()
            assert interrupted.destination == Destination(1)
            stored = await second.requests.get(rid or 0)
            assert stored is not None and stored.status == "failed"
            assert await second.spending.used_units(1, "2026-11-24") == 0


class TestMigrations:
    """Schema versions are recorded in the file and upgraded in order."""

    async def test_first_version_opens_after_the_last(self, tmp_path: Path) -> None:
        """A database written by migration 1 opens, keeps its rows, and gains the rest."""
        path = tmp_path / "old.sqlite3"
        async with open_ledger(path, migrate_upto=1):
            pass
        with sqlite3.connect(path) as db:  # written the way version 1 knew how
            db.execute(
                "INSERT INTO requests (user_id, chat_id, chat_type, kind, model, status, units,"
                " quota_day, created_at) VALUES (7, 7, 'private', 'generate', 'm', 'ok', 1,"
                " '2026-11-24', '2026-11-24T00:00:00')"
            )
        async with open_ledger(path) as new:
            assert await new.spending.used_units(7, "2026-11-24") == 1
            owner = Owner(7, 7)
            await new.pending.add(owner, ["file-a"], now=0.0, expires_at=10.0)
            assert await new.pending.peek(owner, now=1.0) == ("file-a",)
        with sqlite3.connect(path) as db:
            versions = [v for (v,) in db.execute("SELECT version FROM schema_migrations")]
        assert versions == list(range(1, len(MIGRATIONS) + 1))

    async def test_wal_mode(self, ledger: Ledger, tmp_path: Path) -> None:
        """The journal is WAL."""
        with sqlite3.connect(tmp_path / "data" / "bot.sqlite3") as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


class TestPendingRows:
    """Images waiting for an instruction, as stored."""

    async def test_order_count_and_expiry(self, ledger: Ledger) -> None:
        """Kept in order, counted across messages, renewed together, dropped after their time."""
        store, owner = ledger.pending, Owner(1, 1)
        assert await store.add(owner, ["a", "b"], now=100.0, expires_at=700.0) == 2
        assert await store.add(owner, ["c"], now=200.0, expires_at=800.0) == 3
        assert await store.peek(owner, now=750.0) == ("a", "b", "c")  # "a" and "b" renewed
        assert await store.drop(owner, now=750.0) == 3
        assert await store.peek(owner, now=750.0) == ()
        await store.add(owner, ["old"], now=0.0, expires_at=600.0)
        assert await store.peek(owner, now=601.0) == ()
        assert await store.drop(owner, now=601.0) == 0

    async def test_per_user_and_chat(self, ledger: Ledger) -> None:
        """One user's pending images are not another's, nor another chat's."""
        store = ledger.pending
        await store.add(Owner(1, 1), ["mine"], now=0.0, expires_at=600.0)
        assert await store.peek(Owner(2, 1), now=1.0) == ()
        assert await store.peek(Owner(1, -100), now=1.0) == ()
        assert await store.drop(Owner(1, 1), now=1.0) == 1

    async def test_per_forum_topic(self, ledger: Ledger) -> None:
        """In a forum, images kept in one topic wait there, not in another or in General."""
        store = ledger.pending
        await store.add(Owner(1, -100, 7), ["topic 7"], now=0.0, expires_at=600.0)
        assert await store.peek(Owner(1, -100, 8), now=1.0) == ()
        assert await store.peek(Owner(1, -100), now=1.0) == ()
        assert await store.peek(Owner(1, -100, 7), now=1.0) == ("topic 7",)

    async def test_an_upgraded_group_takes_its_pending_images_along(self, ledger: Ledger) -> None:
        await ledger.pending.add(Owner(1, -5), ["kept"], now=0.0, expires_at=9e12)
        await ledger.moves.record(-5, -1005)
        assert await ledger.pending.peek(Owner(1, -1005), now=1.0) == ("kept",)
        assert await ledger.moves.all() == {-5: -1005}


class TestUsers:
    """Per-user limits and bans."""

    async def test_overrides(self, ledger: Ledger) -> None:
        """A number, unlimited, and bans are stored and read back."""
        users = ledger.users
        assert await users.get(5) == UserSettings()
        await users.set_quota(5, 0)
        assert await users.get(5) == UserSettings(quota_limit=0)
        await users.set_quota(5, None)
        assert (await users.get(5)).unlimited
        await users.set_banned(5, True)
        settings = await users.get(5)
        assert settings.banned and settings.unlimited
        await users.set_banned(5, False)
        assert not (await users.get(5)).banned

    async def test_a_ban_during_a_read_is_not_lost(self, ledger: Ledger) -> None:
        """A settings read that overlaps a ban never hides the ban afterwards."""
        read = asyncio.create_task(ledger.users.get(7))
        await asyncio.sleep(0)  # the read's SELECT is queued first
        await asyncio.gather(read, ledger.users.set_banned(7, True))
        assert (await ledger.users.get(7)).banned

"""The ledger: atomic reservations, settlement, migrations and crash recovery."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain import Status, Usage
from bot.ledger.migrations import MIGRATIONS
from bot.ledger.store import Ledger, NewRequest, UserSettings
from bot.quota import QuotaPolicy


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


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    store = await Ledger.open(tmp_path / "data" / "bot.sqlite3")
    yield store
    await store.close()


class TestReservations:
    """Reservations never let a user spend more than the limit."""

    async def test_concurrent_reservations_respect_the_limit(self, ledger: Ledger) -> None:
        """20 simultaneous reservations against a limit of 3: exactly 3 succeed."""
        results = await asyncio.gather(*(ledger.reserve(request(), 1, 3) for _ in range(20)))
        granted = [r for r in results if r is not None]
        assert len(granted) == 3
        assert await ledger.used_units(1, "2026-11-24") == 3

    async def test_failures_release_their_units(self, ledger: Ledger) -> None:
        """Failed and no-image rows stop counting; successes keep counting."""
        ids = [await ledger.reserve(request(), 1, 3) for _ in range(3)]
        assert all(ids) and await ledger.reserve(request(), 1, 3) is None
        assert ids[0] and ids[1] and ids[2]
        await ledger.settle(ids[0], Status.FAILED, error="boom")
        await ledger.settle(ids[1], Status.NO_IMAGE, error="refused")
        await ledger.settle(ids[2], Status.OK, cost=0.028, images=1, usage=Usage(1, 2, 3))
        assert await ledger.used_units(1, "2026-11-24") == 1
        assert await ledger.reserve(request(), 1, 3) is not None

    async def test_settle_only_once(self, ledger: Ledger) -> None:
        """A row settles once; a second settle changes nothing."""
        rid = await ledger.reserve(request(), 1, None)
        assert rid is not None
        assert await ledger.settle(rid, Status.OK, images=1)
        assert not await ledger.settle(rid, Status.FAILED)
        stored = await ledger.request(rid)
        assert stored is not None and stored.status == "ok"

    async def test_units_are_per_day_and_per_user(self, ledger: Ledger) -> None:
        """Yesterday's and other users' units do not count."""
        assert await ledger.reserve(request(day="2026-11-23"), 1, 1)
        assert await ledger.reserve(request(user_id=2), 1, 1)
        assert await ledger.reserve(request(), 1, 1)
        assert await ledger.reserve(request(), 1, 1) is None

    async def test_hd_units(self, ledger: Ledger) -> None:
        """An HD request reserves its cost in units."""
        assert await ledger.reserve(request(hd=True), 3, 4)
        assert await ledger.reserve(request(hd=True), 3, 4) is None
        assert await ledger.reserve(request(), 1, 4)


class TestRecovery:
    """A crash never leaves units reserved for ever."""

    async def test_reservations_left_by_a_killed_process_are_released(self, tmp_path: Path) -> None:
        """Rows still reserved when the process died are failed at the next open."""
        path = tmp_path / "bot.sqlite3"
        first = await Ledger.open(path)
        rid = await first.reserve(request(), 1, 3)
        await first.close()  # the process "dies" with the row reserved
        second = await Ledger.open(path)
        [interrupted] = await second.release_interrupted()
        assert (interrupted.chat_id, interrupted.reply_to) == (1, None)
        stored = await second.request(rid or 0)
        assert stored is not None and stored.status == "failed"
        assert await second.used_units(1, "2026-11-24") == 0
        await second.close()


class TestMigrations:
    """Schema versions are recorded in the file and upgraded in order."""

    async def test_first_version_opens_after_the_last(self, tmp_path: Path) -> None:
        """A database written by migration 1 opens, keeps its rows, and gains the rest."""
        path = tmp_path / "old.sqlite3"
        old = await Ledger.open(path, migrate_upto=1)
        await old._db.execute(  # written the way version 1 knew how
            "INSERT INTO requests (user_id, chat_id, chat_type, kind, model, status, units,"
            " quota_day, created_at) VALUES (7, 7, 'private', 'generate', 'm', 'ok', 1,"
            " '2026-11-24', '2026-11-24T00:00:00')"
        )
        await old.close()
        new = await Ledger.open(path)
        assert await new.used_units(7, "2026-11-24") == 1
        await new.put_pending(7, 7, ["file-a"], now=0.0, ttl=10.0)
        assert await new.take_pending(7, 7, now=1.0) == ["file-a"]
        await new.close()
        with sqlite3.connect(path) as db:
            versions = [v for (v,) in db.execute("SELECT version FROM schema_migrations")]
        assert versions == list(range(1, len(MIGRATIONS) + 1))

    async def test_wal_mode(self, ledger: Ledger, tmp_path: Path) -> None:
        """The journal is WAL."""
        with sqlite3.connect(tmp_path / "data" / "bot.sqlite3") as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


class TestPending:
    """Images waiting for an instruction."""

    async def test_order_count_and_expiry(self, ledger: Ledger) -> None:
        """Kept in order, counted across messages, dropped after their time."""
        assert await ledger.put_pending(1, 1, ["a", "b"], now=100.0, ttl=600) == 2
        assert await ledger.put_pending(1, 1, ["c"], now=200.0, ttl=600) == 3
        assert await ledger.take_pending(1, 1, now=300.0) == ["a", "b", "c"]
        assert await ledger.take_pending(1, 1, now=300.0) == []
        await ledger.put_pending(1, 1, ["old"], now=0.0, ttl=600)
        assert await ledger.take_pending(1, 1, now=601.0) == []

    async def test_take_during_a_put_waits_for_it(self, ledger: Ledger) -> None:
        """A text handled while its photos are being kept still finds them."""
        put = asyncio.create_task(ledger.put_pending(1, 1, ["a", "b"], now=0.0, ttl=600))
        await asyncio.sleep(0)  # the put has sent its first statement
        assert await ledger.take_pending(1, 1, now=1.0) == ["a", "b"]
        assert await put == 2
        assert await ledger.take_pending(1, 1, now=1.0) == []

    async def test_put_queued_behind_a_take_is_not_lost(self, ledger: Ledger) -> None:
        """Photo, text, photo in quick succession: the second photo waits for the next text."""
        first = asyncio.create_task(ledger.put_pending(1, 1, ["p1"], now=0.0, ttl=600))
        await asyncio.sleep(0)
        take = asyncio.create_task(ledger.take_pending(1, 1, now=1.0))
        await asyncio.sleep(0)
        second = asyncio.create_task(ledger.put_pending(1, 1, ["p2"], now=1.0, ttl=600))
        assert (await first, await take, await second) == (1, ["p1"], 1)
        assert await ledger.take_pending(1, 1, now=2.0) == ["p2"]

    async def test_per_user_and_chat(self, ledger: Ledger) -> None:
        """One user's pending images are not another's, nor another chat's."""
        await ledger.put_pending(1, 1, ["mine"], now=0.0, ttl=600)
        assert await ledger.take_pending(2, 1, now=1.0) == []
        assert await ledger.take_pending(1, -100, now=1.0) == []
        assert await ledger.drop_pending(1, 1) == 1


class TestUsers:
    """Per-user limits and bans."""

    async def test_overrides(self, ledger: Ledger) -> None:
        """A number, unlimited, and bans are stored and read back."""
        assert await ledger.user_settings(5) == UserSettings()
        await ledger.set_quota(5, 0)
        assert await ledger.user_settings(5) == UserSettings(quota_limit=0)
        await ledger.set_quota(5, None)
        assert (await ledger.user_settings(5)).unlimited
        await ledger.set_banned(5, True)
        settings = await ledger.user_settings(5)
        assert settings.banned and settings.unlimited
        await ledger.set_banned(5, False)
        assert not (await ledger.user_settings(5)).banned

    async def test_a_ban_during_a_read_is_not_lost(self, ledger: Ledger) -> None:
        """A settings read that overlaps a ban never leaves the old value cached."""
        read = asyncio.create_task(ledger.user_settings(7))
        await asyncio.sleep(0)  # the read's SELECT is queued first
        await asyncio.gather(read, ledger.set_banned(7, True))
        assert (await ledger.user_settings(7)).banned


class TestQuotaPolicy:
    """The day boundary follows QUOTA_TIMEZONE."""

    def test_day_and_reset_follow_the_time_zone(self) -> None:
        """23:30 UTC is already tomorrow in Shanghai, and the reset is at its midnight."""
        instant = datetime(2026, 11, 24, 23, 30, tzinfo=UTC).timestamp()
        utc = QuotaPolicy(
            daily_limit=20, hd_cost=2, timezone=ZoneInfo("UTC"), clock=lambda: instant
        )
        shanghai = QuotaPolicy(
            daily_limit=20, hd_cost=2, timezone=ZoneInfo("Asia/Shanghai"), clock=lambda: instant
        )
        assert utc.day() == "2026-11-24"
        assert utc.seconds_until_reset() == 30 * 60
        assert shanghai.day() == "2026-11-25"
        assert shanghai.seconds_until_reset() == 16 * 3600 + 30 * 60

    def test_limits_and_units(self) -> None:
        """DAILY_QUOTA=0 is unlimited; overrides win; HD costs HD_QUOTA_COST."""
        policy = QuotaPolicy(daily_limit=0, hd_cost=3, timezone=ZoneInfo("UTC"))
        assert policy.limit_for(UserSettings()) is None
        assert policy.limit_for(UserSettings(quota_limit=0)) == 0
        assert policy.limit_for(UserSettings(unlimited=True)) is None
        assert (
            QuotaPolicy(daily_limit=5, hd_cost=3, timezone=ZoneInfo("UTC")).limit_for(
                UserSettings()
            )
            == 5
        )
        assert (policy.units(False), policy.units(True)) == (1, 3)

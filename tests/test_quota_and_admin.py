"""Quotas, admin commands, access control and the operator CLI (SPEC section 3)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bot import http
from bot.access import AccessPolicy
from bot.domain import ImageJob, InputImage, JobResult, Requester
from bot.errors import QuotaExceeded
from bot.gateway.client import GatewayClient
from bot.imaging import ImageWorker
from bot.ledger.store import Ledger
from bot.quota import QuotaPolicy
from bot.service import ImageService
from bot.slots import GatewaySlots, InFlight
from tests.conftest import StartBot
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import png
from tests.fakes.telegram import FakeTelegram

ADMIN = 99


def texts_to(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m["text"] for m in telegram.sent_messages(chat_id) if "text" in m]


async def say(telegram: FakeTelegram, user: dict[str, Any], text: str, chat=None) -> str:
    """Send `text` and wait for the bot's next text answer in that chat."""
    chat = chat or telegram.private_chat(user)
    before = len(texts_to(telegram, chat["id"]))
    telegram.send_text(user, chat, text)
    for _ in range(200):
        answers = texts_to(telegram, chat["id"])
        if len(answers) > before:
            return answers[before]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no answer to {text!r}: {telegram.summary()}")


class NoImages:
    """An image loader for text-only jobs."""

    async def load(self, refs: Sequence[str]) -> list[InputImage]:
        assert not refs
        return []


class TestQuotaThroughTheService:
    """No interleaving of concurrent requests spends more than the limit."""

    async def test_twenty_simultaneous_requests_with_a_quota_of_three(
        self, make_settings, gateway: FakeGateway, tmp_path: Path
    ) -> None:
        """Exactly 3 images; 17 refusals; the gateway is called 3 times."""
        gateway.default = gw.markdown(png(), delay=0.2)
        settings = make_settings(daily_quota=3)
        ledger = await Ledger.open(tmp_path / "q.sqlite3")
        worker = ImageWorker(2)
        session = http.client(32, gateway.url)
        service = ImageService(
            settings=settings,
            gateway=GatewayClient(
                session,
                worker,
                base_url=gateway.url,
                api_key="sk-test-gateway-key",
                group="default",
                timeout=10,
            ),
            ledger=ledger,
            loader=NoImages(),
            quota=QuotaPolicy.from_settings(settings),
            access=AccessPolicy(settings, ledger),
            slots=GatewaySlots(32),
            in_flight=InFlight(100),
        )
        job = ImageJob(Requester(1, 1), "a corgi")

        async def request() -> JobResult:
            async with service.run(job) as outcome:
                return outcome.result

        outcomes = await asyncio.gather(*(request() for _ in range(20)), return_exceptions=True)
        await session.aclose()
        worker.close()
        assert sum(isinstance(o, JobResult) for o in outcomes) == 3
        assert sum(isinstance(o, QuotaExceeded) for o in outcomes) == 17
        assert len(gateway.requests) == 3
        assert await ledger.used_units(1, QuotaPolicy.from_settings(settings).day()) == 3
        await ledger.close()


class TestQuotaThroughTheBot:
    """Over quota, users are told when it resets, and the gateway is not called."""

    async def test_burst_never_exceeds_the_quota(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """Six requests from one user, quota 3: three images, then "resets in"."""
        gateway.default = gw.markdown(png(), delay=0.1)
        ann = telegram.user(1)
        chat = telegram.private_chat(ann)
        async with start_bot(daily_quota=3):
            for i in range(6):
                telegram.send_text(ann, chat, f"picture {i}")
                await asyncio.sleep(0.05)
            await asyncio.sleep(2)
        photos = [c for c in telegram.calls_of("sendPhoto") if c.ok]
        assert len(photos) <= 3
        assert len(gateway.requests) <= 3
        refusals = [t for t in texts_to(telegram, 1) if "today's 3 images" in t]
        assert refusals and "resets in" in refusals[0]

    async def test_failures_and_refusals_cost_nothing(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """With a quota of 1: a failure and a no-image answer leave it for a real image."""
        gateway.enqueue(gw.error(500), gw.error(400, "no"), gw.text("I won't"), gw.markdown(png()))
        ann = telegram.user(1)
        async with start_bot(daily_quota=1):
            assert "refused" in await say(telegram, ann, "one")
            assert "won't" in await say(telegram, ann, "two")
            telegram.send_text(ann, telegram.private_chat(ann), "three")
            await telegram.wait_for("sendPhoto")
            assert "today's 1 images" in await say(telegram, ann, "four")

    async def test_token_usage_of_answers_without_an_image_is_stored(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """A refusal and an image link that 404s: no charge, but the tokens are recorded."""
        usage = {"prompt_tokens": 7, "completion_tokens": 8, "total_tokens": 15}
        gateway.enqueue(
            gw.text("I won't", usage=usage),
            gw.markdown_urls(f"{gateway.url}/files/missing.png", usage=usage),
        )
        ann = telegram.user(1)
        async with start_bot() as runtime:
            assert "won't" in await say(telegram, ann, "one")
            assert "downloaded" in await say(telegram, ann, "two")
            path = runtime.settings.database_path
        with sqlite3.connect(path) as db:
            rows = db.execute(
                "SELECT status, cost, prompt_tokens, completion_tokens, total_tokens "
                "FROM requests ORDER BY id"
            ).fetchall()
        assert rows == [("no_image", 0.0, 7, 8, 15), ("failed", 0.0, 7, 8, 15)]

    async def test_quota_command(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """/quota: used, limit, remaining, reset, all-time totals, last requests."""
        ann = telegram.user(1)
        async with start_bot(daily_quota=5, image_price=0.05):
            telegram.send_text(ann, telegram.private_chat(ann), "a cat")
            await telegram.wait_for("sendPhoto")
            answer = await say(telegram, ann, "/quota")
        assert "1 of 5 used, 4 left" in answer
        assert "Resets in" in answer
        assert "All time: 1 images, cost $0.05" in answer
        assert "generate · done" in answer


class TestAdmin:
    """Admin commands work for ADMIN_USER_IDS only."""

    async def test_non_admins_are_refused(
        self, start_bot: StartBot, telegram: FakeTelegram
    ) -> None:
        """A user who is not an admin gets a refusal for each admin command."""
        ann = telegram.user(1)
        async with start_bot(admin_user_ids=str(ADMIN)):
            for command in ("/stats", "/setquota 1 100", "/ban 2", "/unban 2"):
                assert "for the bot's admins" in await say(telegram, ann, command)

    async def test_setquota_ban_unban(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """Overrides (zero, a number, unlimited) and bans act through the real handlers."""
        admin, ann = telegram.user(ADMIN, "Boss"), telegram.user(1)
        async with start_bot(admin_user_ids=str(ADMIN), daily_quota=1):
            assert "limit set to 0" in await say(telegram, admin, "/setquota 1 0")
            assert "switched off" in await say(telegram, ann, "a cat")
            assert "unlimited" not in await say(telegram, admin, "/setquota 1 2")
            for i in range(2):
                telegram.send_text(ann, telegram.private_chat(ann), f"cat {i}")
                await telegram.wait_for("sendPhoto", count=i + 1)
            assert "today's 2 images" in await say(telegram, ann, "cat 3")
            assert "no daily limit" in await say(telegram, admin, "/setquota 1 unlimited")
            telegram.send_text(ann, telegram.private_chat(ann), "cat 4")
            await telegram.wait_for("sendPhoto", count=3)
            assert "is banned" in await say(telegram, admin, "/ban 1")
            assert "not available to you" in await say(telegram, ann, "cat 5")
            assert "no longer banned" in await say(telegram, admin, "/unban 1")
            telegram.send_text(ann, telegram.private_chat(ann), "cat 6")
            await telegram.wait_for("sendPhoto", count=4)
            assert "Usage" in await say(telegram, admin, "/setquota abc")
        assert len(gateway.requests) == 4

    async def test_channel_identities_can_be_banned(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """A channel posting in a group is charged as itself, and can be banned by its id."""
        admin = telegram.user(ADMIN, "Boss")
        # Telegram's placeholder sender for posts made on behalf of a channel.
        channel_bot = {
            "id": 136817688,
            "is_bot": True,
            "first_name": "Channel",
            "username": "Channel_Bot",
        }
        group = telegram.group_chat(-100123)
        channel = {"id": -100777, "type": "channel", "title": "Ann's channel"}
        async with start_bot(admin_user_ids=str(ADMIN)):
            assert "is banned" in await say(telegram, admin, "/ban -100777")
            telegram.send_message(
                channel_bot,
                group,
                text="/draw a cat",
                sender_chat=channel,
                entities=[{"type": "bot_command", "offset": 0, "length": 5}],
            )
            await asyncio.sleep(1.0)
        assert gateway.requests == []
        assert texts_to(telegram, group["id"]) == []

    @pytest.mark.parametrize("argument", ["²", "12345678901234567890", "0", "-"])
    async def test_odd_ids_get_the_usage_line(
        self, start_bot: StartBot, telegram: FakeTelegram, argument: str
    ) -> None:
        """Superscript digits, huge numbers, zero: the usage line, no error."""
        admin = telegram.user(ADMIN, "Boss")
        async with start_bot(admin_user_ids=str(ADMIN)):
            assert "Usage" in await say(telegram, admin, f"/ban {argument}")

    async def test_stats(self, start_bot: StartBot, telegram: FakeTelegram) -> None:
        """/stats: totals today and all time, and the top users."""
        admin, ann = telegram.user(ADMIN, "Boss"), telegram.user(1, username="ann")
        async with start_bot(admin_user_ids=str(ADMIN)):
            telegram.send_text(ann, telegram.private_chat(ann), "a cat")
            await telegram.wait_for("sendPhoto")
            answer = await say(telegram, admin, "/stats")
        assert "1 requests, 1 images, 0 failed, cost $0.028" in answer
        assert "@ann (1): 1 images" in answer

    async def test_admin_menu_uses_chat_scope(
        self, start_bot: StartBot, telegram: FakeTelegram
    ) -> None:
        """Admin commands are published only in admins' chats."""
        async with start_bot(admin_user_ids=str(ADMIN)):
            pass
        menus = telegram.calls_of("setMyCommands")
        public = [c for c in menus if c.params.get("scope", {}).get("type") == "default"]
        admin = [c for c in menus if c.params.get("scope", {}).get("type") == "chat"]
        assert public and admin
        assert all("stats" not in [x["command"] for x in c.params["commands"]] for c in public)
        assert all(c.params["scope"]["chat_id"] == ADMIN for c in admin)
        assert all("stats" in [x["command"] for x in c.params["commands"]] for c in admin)


class TestAccess:
    """Allow-lists and bans: a polite refusal in private, silence in groups."""

    async def test_allowed_users(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """Only ALLOWED_USER_IDS may use the bot; others are refused, and it is recorded."""
        ann, eve = telegram.user(1), telegram.user(2, "Eve")
        group = telegram.group_chat(-100123)
        async with start_bot(allowed_user_ids="1") as runtime:
            assert "not available to you" in await say(telegram, eve, "a cat")
            assert "not available to you" in await say(telegram, eve, "/help")
            telegram.send_text(eve, group, "/draw a cat")
            telegram.send_text(ann, telegram.private_chat(ann), "a dog")
            await telegram.wait_for("sendPhoto")
            await asyncio.sleep(0.5)
            statuses = [r.status for r in await runtime.ledger.recent(2, 10)]
        assert texts_to(telegram, group["id"]) == []
        assert len(gateway.requests) == 1
        assert statuses.count("denied") == 3

    async def test_outsiders_hear_the_refusal_first(
        self, start_bot: StartBot, telegram: FakeTelegram
    ) -> None:
        """Outsiders get the refusal for any command in private, and silence in groups."""
        eve = telegram.user(2, "Eve")
        group = telegram.group_chat(-100123)
        async with start_bot(allowed_user_ids="1", admin_user_ids=str(ADMIN)):
            assert "not available to you" in await say(telegram, eve, "/nonsense")
            assert "not available to you" in await say(telegram, eve, "/stats")
            telegram.send_text(eve, group, "/stats")
            telegram.send_text(eve, group, "/ban 1")
            await asyncio.sleep(1.0)
        assert texts_to(telegram, group["id"]) == []

    async def test_allowed_chats(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """ALLOWED_CHAT_IDS lets anyone use the bot in that group, and nowhere else."""
        eve = telegram.user(2, "Eve")
        allowed, other = telegram.group_chat(-100123), telegram.group_chat(-100999, "Other")
        async with start_bot(allowed_chat_ids="-100123"):
            telegram.send_text(eve, other, "/draw a cat")
            telegram.send_text(eve, allowed, "/draw a dog")
            [photo] = await telegram.wait_for("sendPhoto")
            assert "not available" in await say(telegram, eve, "a bird")
        assert photo.params["chat_id"] == -100123
        assert [r.prompt for r in gateway.requests] == ["a dog"]


class TestCli:
    """`python -m bot stats` and `export` read the same ledger."""

    async def test_stats_and_export(
        self, start_bot: StartBot, telegram: FakeTelegram, tmp_path: Path
    ) -> None:
        """The summary and a CSV with one row per request."""
        db = tmp_path / "cli.sqlite3"
        ann = telegram.user(1, username="ann")
        async with start_bot(database_path=db):
            telegram.send_text(ann, telegram.private_chat(ann), "a cat")
            await telegram.wait_for("sendPhoto")
        env = {"PATH": os.environ["PATH"], "DATABASE_PATH": str(db)}
        stats = _cli(["stats"], env, tmp_path)
        assert "1 requests, 1 images" in stats and "@ann" in stats
        exported = _cli(["export", "--since", "2000-01-01"], env, tmp_path)
        [row] = list(csv.DictReader(io.StringIO(exported)))
        assert (row["user_id"], row["status"], row["prompt"]) == ("1", "ok", "a cat")
        assert _cli(["export", "--since", "2999-01-01"], env, tmp_path).startswith("id,")


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> str:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**env, "PYTHONPATH": str(root)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_text_exists_in_both_languages(lang: str) -> None:
    """Both tables have the same keys and the same placeholders."""
    import string

    from bot.texts import EN, ZH

    assert EN.keys() == ZH.keys()
    for key in EN:
        fields = [{f for _, f, _, _ in string.Formatter().parse(t[key]) if f} for t in (EN, ZH)]
        assert fields[0] == fields[1], key

"""SPEC section 3, "Usage ledger and quotas": quotas, admin commands, access control."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import png
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import (
    Json,
    StartBot,
    ask,
    settle,
    texts_to,
    today,
)

ADMIN = 99


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
            assert "refused" in await ask(telegram, ann, "one")
            assert "won't" in await ask(telegram, ann, "two")
            telegram.send_text(ann, telegram.private_chat(ann), "three")
            await telegram.wait_for("sendPhoto")
            assert "today's 1 image." in await ask(telegram, ann, "four")

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
            assert "won't" in await ask(telegram, ann, "one")
            assert "downloaded" in await ask(telegram, ann, "two")
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
            answer = await ask(telegram, ann, "/quota")
        assert "1 of 5 used, 4 left" in answer
        assert "Resets in" in answer
        assert "All time: 1 image, cost $0.05" in answer
        assert "text to image · done" in answer


class TestAdmin:
    """Admin commands work for ADMIN_USER_IDS only."""

    async def test_non_admins_are_refused(
        self, start_bot: StartBot, telegram: FakeTelegram
    ) -> None:
        """A user who is not an admin gets a refusal for each admin command."""
        ann = telegram.user(1)
        async with start_bot(admin_user_ids=str(ADMIN)):
            for command in ("/stats", "/setquota 1 100", "/ban 2", "/unban 2"):
                assert "for the bot's admins" in await ask(telegram, ann, command)

    async def test_setquota_ban_unban(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """Overrides (zero, a number, unlimited) and bans act through the real handlers."""
        admin, ann = telegram.user(ADMIN, "Boss"), telegram.user(1)
        async with start_bot(admin_user_ids=str(ADMIN), daily_quota=1):
            assert "limit set to 0" in await ask(telegram, admin, "/setquota 1 0")
            assert "switched off" in await ask(telegram, ann, "a cat")
            assert "unlimited" not in await ask(telegram, admin, "/setquota 1 2")
            for i in range(2):
                telegram.send_text(ann, telegram.private_chat(ann), f"cat {i}")
                await telegram.wait_for("sendPhoto", count=i + 1)
            assert "today's 2 images" in await ask(telegram, ann, "cat 3")
            assert "no daily limit" in await ask(telegram, admin, "/setquota 1 unlimited")
            telegram.send_text(ann, telegram.private_chat(ann), "cat 4")
            await telegram.wait_for("sendPhoto", count=3)
            assert "is banned" in await ask(telegram, admin, "/ban 1")
            assert "not available to you" in await ask(telegram, ann, "cat 5")
            assert "no longer banned" in await ask(telegram, admin, "/unban 1")
            telegram.send_text(ann, telegram.private_chat(ann), "cat 6")
            await telegram.wait_for("sendPhoto", count=4)
            assert "Usage" in await ask(telegram, admin, "/setquota abc")
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
            assert "is banned" in await ask(telegram, admin, "/ban -100777")
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
            assert "Usage" in await ask(telegram, admin, f"/ban {argument}")

    async def test_stats(self, start_bot: StartBot, telegram: FakeTelegram) -> None:
        """/stats: totals today and all time, and the top users."""
        admin, ann = telegram.user(ADMIN, "Boss"), telegram.user(1, username="ann")
        async with start_bot(admin_user_ids=str(ADMIN)):
            telegram.send_text(ann, telegram.private_chat(ann), "a cat")
            await telegram.wait_for("sendPhoto")
            answer = await ask(telegram, admin, "/stats")
        assert "1 request, 1 image, 0 failed, cost $0.028" in answer
        assert "@ann (1): 1 image," in answer

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
        """Only ALLOWED_USER_IDS may use the bot; others are refused, and each refused image
        request is recorded (a refused /help is not a request, so it is not)."""
        ann, eve = telegram.user(1), telegram.user(2, "Eve")
        group = telegram.group_chat(-100123)
        async with start_bot(allowed_user_ids="1") as runtime:
            assert "not available to you" in await ask(telegram, eve, "a cat")
            assert "not available to you" in await ask(telegram, eve, "/help")
            telegram.send_text(eve, group, "/draw a cat")
            telegram.send_text(ann, telegram.private_chat(ann), "a dog")
            await telegram.wait_for("sendPhoto")
            await asyncio.sleep(0.5)
            rows = await runtime.ledger.requests.recent(2, 10)
        assert texts_to(telegram, group["id"]) == []
        assert len(gateway.requests) == 1
        assert [(r.status, r.kind, r.chat_id) for r in rows] == [
            ("denied", "generate", group["id"]),
            ("denied", "generate", 2),
        ]

    async def test_outsiders_hear_the_refusal_first(
        self, start_bot: StartBot, telegram: FakeTelegram
    ) -> None:
        """Outsiders get the refusal for any command in private, and silence in groups."""
        eve = telegram.user(2, "Eve")
        group = telegram.group_chat(-100123)
        async with start_bot(allowed_user_ids="1", admin_user_ids=str(ADMIN)):
            assert "not available to you" in await ask(telegram, eve, "/nonsense")
            assert "not available to you" in await ask(telegram, eve, "/stats")
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
            assert "not available" in await ask(telegram, eve, "a bird")
        assert photo.params["chat_id"] == -100123
        assert [r.prompt for r in gateway.requests] == ["a dog"]


class TestBudgets:
    """SPEC section 3, "Budgets beyond the user"."""

    async def test_daily_budget_stops_everyone_and_alerts_the_admin_once(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """DAILY_BUDGET of 2 images' cost, 5 users at once: 2 images, 3 "budget used up"."""
        gateway.default = gw.markdown(png(), delay=0.3)
        admin = telegram.user(ADMIN, "Boss", language_code="zh-hans")
        async with start_bot(admin_user_ids=str(ADMIN), daily_budget=0.056) as runtime:
            await ask(telegram, admin, "/help")  # the admin's chat, and language, are known
            users = [telegram.user(n, f"U{n}") for n in range(1, 6)]
            for user in users:
                telegram.send_text(user, telegram.private_chat(user), "a dog")
            await telegram.wait_for("sendPhoto", count=2, timeout=15)
            for user in users:
                await ask(telegram, user, "a cat")
            answers = [t for u in users for t in texts_to(telegram, u["id"])]
            assert sum("daily budget is used up" in t for t in answers) == 8
            assert "Nothing was charged" not in " ".join(answers)
            stats = await ask(telegram, admin, "/stats")
            assert await runtime.ledger.spending.day_spend(today()) == 56_000
        alerts = [t for t in texts_to(telegram, ADMIN) if "DAILY_BUDGET" in t]
        assert len(alerts) == 1 and alerts[0].startswith("⚠️ 已达到 DAILY_BUDGET")
        assert "今日花费：$0.056，每日预算 $0.056。" in stats
        assert len(gateway.requests) == 2

    async def test_group_quota_holds_against_members_at_once(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway, group: Json
    ) -> None:
        gateway.default = gw.markdown(png(), delay=0.3)
        async with start_bot(group_daily_quota=2):
            for n in range(1, 6):
                telegram.send_text(telegram.user(n, f"U{n}"), group, "/draw a dog")
            await telegram.wait_for("sendPhoto", count=2, timeout=15)
            await settle(1.0)
            refusals = [t for t in texts_to(telegram, group["id"]) if "This group has used" in t]
            assert len(refusals) == 3
            assert "today's 2 images" in refusals[0]
            quota = await ask(telegram, telegram.user(1), "/quota", group)
        assert "This group today: 2 of 2 used." in quota
        assert len(gateway.requests) == 2

    async def test_an_admin_sets_a_groups_own_limit(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway, group: Json
    ) -> None:
        admin = telegram.user(ADMIN, "Boss")
        async with start_bot(admin_user_ids=str(ADMIN), group_daily_quota=5):
            answer = await ask(telegram, admin, f"/setquota {group['id']} 1")
            assert answer == f"Group {group['id']}: daily limit set to 1."
            telegram.send_text(telegram.user(1), group, "/draw a dog")
            await telegram.wait_for("sendPhoto", timeout=15)
            refusal = await ask(telegram, telegram.user(2), "/draw a cat", group)
        assert "This group has used today's 1 image." in refusal

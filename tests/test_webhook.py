"""Webhook mode: updates pushed by the Bot API server, the secret checked on every request."""

from __future__ import annotations

import json
import socket

import aiohttp
import pytest

from bot.config import Settings, load_settings
from bot.errors import ConfigError
from tests.conftest import StartBot
from tests.fakes.gateway import FakeGateway
from tests.fakes.telegram import FakeTelegram

SECRET = "hook-secret_123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def hook() -> dict[str, object]:
    port = free_port()
    return {
        "webhook_url": f"http://127.0.0.1:{port}/telegram/hook",
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
    }


class TestWebhook:
    """With WEBHOOK_URL set, updates arrive by webhook instead of long polling."""

    async def test_updates_arrive_by_webhook(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway, hook
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
        self, start_bot: StartBot, gateway: FakeGateway, hook, header: str | None
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

    async def test_a_secret_is_made_up_when_none_is_configured(
        self, start_bot: StartBot, telegram: FakeTelegram, hook
    ) -> None:
        """Without WEBHOOK_SECRET the bot still registers (and checks) a random secret."""
        async with start_bot(**hook):
            [registered] = telegram.calls_of("setWebhook")
        assert len(registered.params["secret_token"]) >= 32

    async def test_a_start_up_failure_shows_its_own_cause(self, start_bot: StartBot, hook) -> None:
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

"""Configuration errors stop start-up with one line; logs never carry a secret."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.logs import REDACTED, setup_logging
from tests.conftest import API_KEY, TOKEN, StartBot
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.telegram import FakeTelegram

REQUIRED = {"TELEGRAM_BOT_TOKEN": TOKEN, "IMAGE_API_KEY": API_KEY}


class TestConfig:
    """Every variable is read; a bad one is named in a single line."""

    def test_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Only the token and the key are required; the rest has SPEC's defaults."""
        for name, value in REQUIRED.items():
            monkeypatch.setenv(name, value)
        settings = load_settings(Settings)
        assert settings.telegram_bot_token.get_secret_value() == TOKEN
        assert str(settings.image_api_base_url) == "https://api.rainboxs.com/"
        assert (settings.daily_quota, settings.max_concurrent_requests) == (20, 32)
        assert (settings.image_price, settings.request_timeout) == (0.028, 180)
        assert TOKEN not in repr(settings) and API_KEY not in repr(settings)

    def test_dotenv_file(self, tmp_path: Path) -> None:
        """A `.env` file in the working directory is read."""
        (tmp_path / ".env").write_text(
            f"TELEGRAM_BOT_TOKEN={TOKEN}\nIMAGE_API_KEY={API_KEY}\n"
            "ADMIN_USER_IDS=1, 2\nQUOTA_TIMEZONE=Asia/Shanghai\nDAILY_QUOTA=0\n"
        )
        settings = load_settings(Settings)
        assert settings.admin_user_ids == frozenset({1, 2})
        assert settings.quota_timezone == "Asia/Shanghai" and settings.daily_quota == 0

    @pytest.mark.parametrize(
        ("env", "message"),
        [
            ({}, "TELEGRAM_BOT_TOKEN is required but not set"),
            ({"TELEGRAM_BOT_TOKEN": TOKEN}, "IMAGE_API_KEY is required but not set"),
            ({**REQUIRED, "IMAGE_API_KEY": "  "}, "IMAGE_API_KEY is invalid: must not be empty"),
            ({**REQUIRED, "DAILY_QUOTA": "lots"}, "DAILY_QUOTA is invalid"),
            ({**REQUIRED, "DAILY_QUOTA": "-1"}, "DAILY_QUOTA is invalid"),
            ({**REQUIRED, "QUOTA_TIMEZONE": "Mars/Base"}, "QUOTA_TIMEZONE is invalid"),
            ({**REQUIRED, "ADMIN_USER_IDS": "1,two"}, "ADMIN_USER_IDS is invalid"),
            ({**REQUIRED, "IMAGE_API_BASE_URL": "not a url"}, "IMAGE_API_BASE_URL is invalid"),
            ({**REQUIRED, "MAX_INPUT_IMAGES": "11"}, "MAX_INPUT_IMAGES is invalid"),
            ({**REQUIRED, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL is invalid"),
        ],
    )
    def test_bad_values_are_named(
        self, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
    ) -> None:
        """The error names the variable and what is wrong."""
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError, match=message):
            load_settings(Settings)

    def test_start_up_stops_with_one_line(self, tmp_path: Path) -> None:
        """`python -m bot` without a token: exit status 2 and one line on stderr."""
        root = Path(__file__).resolve().parents[1]
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(root), "IMAGE_API_KEY": "x"}
        done = subprocess.run(
            [sys.executable, "-m", "bot"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            "configuration error: TELEGRAM_BOT_TOKEN is required but not set"
        ]


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The bot's real logging set-up, writing into a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    setup_logging("DEBUG", [TOKEN, API_KEY], stream)
    yield stream
    root.handlers, root.level = saved[0], saved[1]


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

    def test_httpx_request_lines_are_silenced(self, log_stream: io.StringIO) -> None:
        """httpx logs request URLs at INFO; its logger is kept at WARNING."""
        logging.getLogger("httpx").info("HTTP Request: POST https://x/bot%s/getMe", TOKEN)
        assert log_stream.getvalue() == ""

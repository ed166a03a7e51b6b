"""SPEC section 4, "Configuration": every variable is read; a bad one is named in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.errors import (
    ConfigError,
)
from tests.support.bot import (
    API_KEY,
    REPO,
    TOKEN,
)

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
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "IMAGE_API_KEY": "x"}
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

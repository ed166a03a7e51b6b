"""Fixtures: a fake Bot API server, a fake gateway, and the real bot running against them.

Helpers that tests import live in `tests/support/`, never here.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import Runtime, running
from bot.config import Settings
from bot.logs import setup_logging
from tests.fakes.gateway import FakeGateway
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import API_KEY, TOKEN, StartBot


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the developer's shell or a `.env` file."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _bot_api_conformance(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every call made to the fake Bot API kept to the Bot API (`FakeTelegram.violations`)."""
    used = "telegram" in request.fixturenames
    telegram: FakeTelegram | None = request.getfixturevalue("telegram") if used else None
    yield
    assert telegram is None or not telegram.violations, telegram.violations


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    async with FakeGateway(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def make_settings(
    telegram: FakeTelegram, gateway: FakeGateway, tmp_path: Path
) -> Callable[..., Settings]:
    """Settings pointing at the fakes; keyword arguments override any field."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "telegram_bot_token": TOKEN,
            "telegram_api_url": telegram.url,
            "image_api_base_url": gateway.url,
            "image_api_key": API_KEY,
            "database_path": tmp_path / "data" / "bot.sqlite3",
            "request_timeout": 20,
            "shutdown_grace": 5,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def start_bot(make_settings: Callable[..., Settings]) -> StartBot:
    """`async with start_bot(**settings) as runtime:` runs the real bot against the fakes."""

    def start(settings: Settings | None = None, **overrides: Any) -> Any:
        return running(settings or make_settings(**overrides))

    return start


@pytest.fixture
async def bot(start_bot: StartBot) -> AsyncIterator[Runtime]:
    """The bot with default settings, running."""
    async with start_bot() as runtime:
        yield runtime


@pytest.fixture
def ann(telegram: FakeTelegram) -> dict[str, Any]:
    """A user, Ann (@ann), English."""
    return telegram.user(1, "Ann", username="ann")


@pytest.fixture
def private(telegram: FakeTelegram, ann: dict[str, Any]) -> dict[str, Any]:
    """Ann's private chat with the bot."""
    return telegram.private_chat(ann)


@pytest.fixture
def group(telegram: FakeTelegram) -> dict[str, Any]:
    """A supergroup the bot is in."""
    return telegram.group_chat(-100123)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The bot's real logging set-up, writing into a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    setup_logging("DEBUG", [TOKEN, API_KEY], stream)
    yield stream
    root.handlers, root.level = saved[0], saved[1]

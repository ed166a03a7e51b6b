"""Fixtures: the fakes, and the real bot as a subprocess (`python -m bot`, as deployed).

Every test here plays users on `FakeTelegram`, scripts `FakeGateway`, and looks at three
things the deployment exposes: what reached the chats, what the ledger (SQLite, read-only)
recorded, and what the process wrote to stderr.

    bot = await launch(DAILY_QUOTA=3)       # environment overrides; waits for getUpdates
    ...
    await bot.stop()                        # SIGTERM, wait, assert exit code 0

Processes still running at teardown get SIGTERM (SIGKILL after a timeout), and their exit
code is asserted to be 0 unless the test said otherwise (`clean_exit=False`). The helpers
the tests import are in `tests/reliability/support.py`, the runner in
`tests/support/process.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.gateway import FakeGateway
from tests.fakes.telegram import FakeTelegram
from tests.reliability.support import API_KEY, BOT_USERNAME, TOKEN, Launch
from tests.support.process import BotProcess, bot_environment


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, bot_username=BOT_USERNAME) as server:
        yield server


@pytest.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    async with FakeGateway(api_key=API_KEY) as server:
        yield server


@pytest.fixture
async def launch(
    telegram: FakeTelegram, gateway: FakeGateway, tmp_path: Path
) -> AsyncIterator[Launch]:
    """`bot = await launch(NAME=value, ...)`: start the bot with extra environment, ready.

    `clean_exit=False` when the test kills the process or expects a failure exit;
    `db=` to reuse a ledger (a restart); `wait=False` to return without waiting to poll.
    """
    started: list[BotProcess] = []

    async def start(
        *, clean_exit: bool = True, db: Path | None = None, wait: bool = True, **env: object
    ) -> BotProcess:
        workdir = tmp_path / f"run{len(started)}"
        workdir.mkdir()
        database = db or tmp_path / "data" / "bot.sqlite3"
        settings: dict[str, object] = {"REQUEST_TIMEOUT": 10, "SHUTDOWN_GRACE": 5, **env}
        environment = bot_environment(telegram, gateway, database, **settings)
        process = BotProcess(telegram, environment, workdir, clean_exit)
        started.append(process)
        process.spawn()
        if wait:
            await process.wait_ready()
        return process

    yield start

    errors = []
    for process in started:
        try:
            await process.stop()
        except AssertionError as exc:
            errors.append(str(exc))
    assert not errors, "\n\n".join(errors)


@pytest.fixture
async def bot(launch: Launch) -> BotProcess:
    """The bot with default settings, polling."""
    return await launch()

"""The real bot as a subprocess (`python -m bot`, as deployed) against the in-process fakes.

Every test here plays users on `FakeTelegram`, scripts `FakeGateway`, and looks at three
things the deployment exposes: what reached the chats, what the ledger (SQLite, read-only)
recorded, and what the process wrote to stderr.

    bot = await launch(DAILY_QUOTA=3)       # environment overrides; waits for getUpdates
    ...
    await bot.stop()                        # SIGTERM, wait, assert exit code 0

Processes still running at teardown get SIGTERM (SIGKILL after a timeout), and their exit
code is asserted to be 0 unless the test said otherwise (`clean_exit=False`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from tests.fakes.gateway import FakeGateway
from tests.fakes.telegram import Call, FakeTelegram

REPO = Path(__file__).resolve().parents[2]

#: Secrets distinctive enough to be found anywhere they leak; the bot id is the prefix.
BOT_ID = 7301234567
TOKEN_SECRET = "AAHrelSecretTok3nQz9WmX2pLk"
TOKEN = f"{BOT_ID}:{TOKEN_SECRET}"
API_KEY = "sk-relSecretKey-7Hq2Vn9cZt4Lw"
BOT_USERNAME = "flash_test_bot"

#: Seconds the bot gets to start (imports, getMe, setMyCommands, first getUpdates).
START_TIMEOUT = 20.0
#: Seconds a SIGTERM may take before the process is killed (grace period plus slack).
STOP_SLACK = 10.0

JsonDict = dict[str, Any]


class ObservedTelegram(FakeTelegram):
    """FakeTelegram that also counts getUpdates requests when they arrive (not answered)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.polls_arrived = 0
        self.hooks.request.append(self._count_polls)

    def _count_polls(self, call: Call) -> None:
        if call.method == "getUpdates":
            self.polls_arrived += 1


@pytest.fixture
async def telegram() -> AsyncIterator[ObservedTelegram]:
    async with ObservedTelegram(token=TOKEN, bot_username=BOT_USERNAME) as server:
        yield server


@pytest.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    async with FakeGateway(api_key=API_KEY) as server:
        yield server


# --------------------------------------------------------------------------------------------
# The bot process
# --------------------------------------------------------------------------------------------


def bot_environment(telegram: FakeTelegram, gateway: FakeGateway, db: Path) -> dict[str, str]:
    """A clean environment: no proxies, no setting from the developer's shell."""
    settings = {name.upper() for name in Settings.model_fields}
    env = {
        key: value
        for key, value in os.environ.items()
        if key.upper() not in settings and not key.upper().endswith("_PROXY")
    }
    env.update(
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        NO_PROXY="*",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=telegram.url,
        IMAGE_API_BASE_URL=gateway.url,
        IMAGE_API_KEY=API_KEY,
        DATABASE_PATH=str(db),
        REQUEST_TIMEOUT="10",
        SHUTDOWN_GRACE="5",
    )
    return env


@dataclass
class BotProcess:
    """One `python -m bot` process and what it leaves behind."""

    telegram: ObservedTelegram
    env: dict[str, str]
    workdir: Path
    db_path: Path
    clean_exit: bool = True
    proc: subprocess.Popen[bytes] | None = None
    stderr_path: Path = field(init=False)
    _polls_at_start: int = 0

    def __post_init__(self) -> None:
        self.stderr_path = self.workdir / "bot.stderr.log"

    def spawn(self) -> None:
        """Start the process (synchronous: Popen returns at once)."""
        self._polls_at_start = self.telegram.polls_arrived
        with (
            self.stderr_path.open("ab") as stderr,
            (self.workdir / "bot.stdout.log").open("ab") as stdout,
        ):
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    @property
    def log(self) -> str:
        """Everything the process wrote to stderr so far."""
        return self.stderr_path.read_text("utf-8", errors="replace")

    async def wait_ready(self, within: float = START_TIMEOUT) -> None:
        """Wait until the process is long-polling the fake."""
        deadline = time.monotonic() + within
        while self.telegram.polls_arrived <= self._polls_at_start:
            if not self.running:
                raise AssertionError(f"the bot exited ({self.returncode}) early:\n{self.log}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot did not poll within {within}s:\n{self.log}")
            await asyncio.sleep(0.02)

    def send_signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def wait_exit(self, within: float) -> int | None:
        """The exit code, or None if still running after `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            if not self.running or time.monotonic() >= deadline:
                return self.returncode
            await asyncio.sleep(0.02)

    async def stop(self, within: float | None = None) -> int:
        """SIGTERM, wait (SIGKILL after the grace period and some slack); the exit code."""
        if self.running:
            grace = float(self.env.get("SHUTDOWN_GRACE", "25"))
            self.send_signal(signal.SIGTERM)
            code = await self.wait_exit(within if within is not None else grace + STOP_SLACK)
            if code is None:
                self.kill()
                await self.wait_exit(5)
                raise AssertionError(f"the bot ignored SIGTERM; killed it:\n{self.log[-4000:]}")
        assert self.proc is not None
        code = self.proc.wait()
        if self.clean_exit:
            assert code == 0, f"exit code {code}:\n{self.log[-4000:]}"
        return code

    def kill(self) -> None:
        """SIGKILL: no cleanup at all."""
        if self.running:
            self.send_signal(signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait()

    # -- the ledger, read-only ------------------------------------------------------------

    def rows(self, where: str = "1", params: tuple[Any, ...] = ()) -> list[JsonDict]:
        """Ledger rows (`requests`) matching `where`, oldest first."""
        return ledger_rows(self.db_path, where, params)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[JsonDict]:
        """Any read-only query on the ledger database."""
        return read_ledger(self.db_path, sql, params)


def read_ledger(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[JsonDict]:
    """Read the ledger without writing to it (WAL readers do not block the bot)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, params).fetchall()]


def ledger_rows(db: Path, where: str = "1", params: tuple[Any, ...] = ()) -> list[JsonDict]:
    """`requests` rows matching `where`, oldest first."""
    return read_ledger(db, f"SELECT * FROM requests WHERE {where} ORDER BY id", params)


Launch = Callable[..., Awaitable[BotProcess]]


@pytest.fixture
async def launch(
    telegram: ObservedTelegram, gateway: FakeGateway, tmp_path: Path
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
        db_path = db or tmp_path / "data" / "bot.sqlite3"
        environment = bot_environment(telegram, gateway, db_path)
        environment.update({name.upper(): str(value) for name, value in env.items()})
        process = BotProcess(telegram, environment, workdir, db_path, clean_exit)
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


# --------------------------------------------------------------------------------------------
# What reached the chats
# --------------------------------------------------------------------------------------------

SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup")


def answers(telegram: FakeTelegram, chat_id: int) -> list[JsonDict]:
    """What the chat shows from the bot now (deleted notices excluded)."""
    return telegram.sent_messages(chat_id, include_deleted=False)


def texts(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m["text"] for m in answers(telegram, chat_id) if "text" in m]


def photos(telegram: FakeTelegram, chat_id: int) -> list[JsonDict]:
    return [m for m in answers(telegram, chat_id) if "photo" in m]


def documents(telegram: FakeTelegram, chat_id: int) -> list[JsonDict]:
    return [m for m in answers(telegram, chat_id) if "document" in m]


def reply_target(message: JsonDict) -> int | None:
    """The message id the bot's message replies to."""
    replied = message.get("reply_to_message")
    return int(replied["message_id"]) if replied else None


async def wait_answers(
    telegram: FakeTelegram,
    chat_id: int,
    count: int = 1,
    *,
    within: float = 15.0,
    settle: float = 0.3,
) -> list[JsonDict]:
    """Wait for `count` visible answers in the chat, then `settle` seconds for extras."""
    deadline = time.monotonic() + within
    while len(answers(telegram, chat_id)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"expected {count} answer(s) in chat {chat_id} within {within}s, got "
                f"{answers(telegram, chat_id)}; calls: {telegram.summary()}"
            )
        await asyncio.sleep(0.03)
    await asyncio.sleep(settle)
    return answers(telegram, chat_id)


async def wait_until(
    condition: Callable[[], bool], *, within: float = 15.0, what: str = "condition"
) -> None:
    """Poll `condition` every 30 ms."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {within}s")
        await asyncio.sleep(0.03)


def outgoing_texts(telegram: FakeTelegram) -> list[tuple[int | str | None, str]]:
    """(chat_id, text or caption) of every message the bot tried to send or edit."""
    found = []
    for call in telegram.calls:
        if call.method in (*SEND_METHODS, "editMessageText", "editMessageCaption"):
            for name in ("text", "caption"):
                value = call.params.get(name)
                if isinstance(value, str):
                    found.append((call.params.get("chat_id"), value))
            found.extend(
                (call.params.get("chat_id"), item["caption"])
                for item in call.params.get("media") or []
                if isinstance(item, dict) and isinstance(item.get("caption"), str)
            )
        if call.method == "answerCallbackQuery" and isinstance(call.params.get("text"), str):
            found.append((None, call.params["text"]))
    return found


def problems_in(log: str) -> list[str]:
    """Log lines that reveal a bug: unhandled errors and tracebacks."""
    return [
        line
        for line in log.splitlines()
        if "unhandled error" in line.lower() or line.startswith("Traceback")
    ]


# --------------------------------------------------------------------------------------------
# Playing users
# --------------------------------------------------------------------------------------------


def person(
    telegram: FakeTelegram, user_id: int, name: str = "Ann", **fields: Any
) -> tuple[JsonDict, JsonDict]:
    """A user and their private chat with the bot."""
    user = telegram.user(user_id, name, **fields)
    return user, telegram.private_chat(user)


def arrival_of(telegram: FakeTelegram, message: JsonDict) -> float:
    """When (time.monotonic) the fake received the call that created the bot's `message`."""
    chat_id, message_id = message["chat"]["id"], message["message_id"]
    for call in telegram.calls:
        result = call.result if call.ok else None
        if not isinstance(result, dict) or "chat" not in result:
            continue
        if (result["chat"]["id"], result.get("message_id")) == (chat_id, message_id):
            return call.at
    raise AssertionError(f"no call created message {message_id} in chat {chat_id}")


def one_sentence(message: JsonDict) -> str:
    """The text of a short answer (no media, no stack trace, no raw exception)."""
    assert "text" in message, f"expected a text answer, got {message}"
    text = str(message["text"])
    assert len(text) <= 400, f"not a short answer ({len(text)} chars): {text[:200]!r}"
    for marker in ("Traceback", "Exception", "Error:", "httpx", "aiohttp", "telegram.error"):
        assert marker not in text, f"internal detail {marker!r} in {text!r}"
    return text

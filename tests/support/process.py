"""The real bot as a subprocess, `python -m bot` as deployed, against the fakes.

One runner for the reliability tests and the benchmark:

    env = bot_environment(telegram, gateway, workdir / "bot.sqlite3", SHUTDOWN_GRACE=5)
    bot = BotProcess(telegram, env, workdir)
    await bot.start()          # spawn, then wait until ready
    ...
    await bot.stop()           # SIGTERM; SIGKILL after the grace period and some slack

or `async with running_bot(telegram, gateway, **settings) as bot:` in a temporary directory.

The environment is clean: no bot setting, proxy or `.env` of the developer's shell reaches
the bot (its working directory is empty). The bot is ready when it long-polls (its first
`getUpdates` has reached the fake) or, with `WEBHOOK_URL` set, when the fake has answered
its `setWebhook` and the webhook port accepts connections. The fake is watched through its
public `hooks`, which also stamp those moments (`time.monotonic()`) for the start-up figure.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.config import Settings
from tests.fakes.gateway import FakeGateway
from tests.fakes.telegram import Call, FakeTelegram
from tests.support.waits import WaitTimeout, wait_until

REPO = Path(__file__).resolve().parents[2]
#: Seconds the bot gets to start (imports, getMe, setMyCommands, the first getUpdates).
START_TIMEOUT = 30.0
#: Seconds a SIGTERM may take beyond `SHUTDOWN_GRACE` before the process is killed.
STOP_SLACK = 10.0

JsonDict = dict[str, Any]

_LIVE: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _kill_leftovers() -> None:
    """Last resort: no bot outlives the process that started it."""
    for process in _LIVE:
        if process.poll() is None:
            process.kill()


class BotFailed(AssertionError):
    """The bot exited early, never became ready, ignored SIGTERM or exited non-zero."""


def bot_environment(
    telegram: FakeTelegram, gateway: FakeGateway, database: Path, **settings: object
) -> dict[str, str]:
    """A clean environment pointing the bot at the fakes, plus `settings` (NAME=value)."""
    blocked = {name.upper() for name in Settings.model_fields}
    env = {
        key: value
        for key, value in os.environ.items()
        if key.upper() not in blocked and not key.upper().endswith("_PROXY")
    }
    env.update(
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        NO_PROXY="*",
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.url,
        IMAGE_API_BASE_URL=gateway.url,
        IMAGE_API_KEY=gateway.api_key or "",
        DATABASE_PATH=str(database),
    )
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env


class BotProcess:
    """One `python -m bot` process in `workdir`, and what it leaves behind."""

    def __init__(
        self, telegram: FakeTelegram, env: dict[str, str], workdir: Path, clean_exit: bool = True
    ) -> None:
        self.telegram = telegram
        self.env = env
        self.workdir = workdir
        #: Whether `stop` asserts exit code 0 (False when the test kills the process).
        self.clean_exit = clean_exit
        self.db_path = Path(env["DATABASE_PATH"])
        self.stderr_path = workdir / "bot.stderr.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.spawned = 0.0
        #: When each `getUpdates` (`setWebhook` answer) reached the fake since the spawn.
        self.polls: list[float] = []
        self.webhook_sets: list[float] = []
        #: Seconds from the spawn to being ready (see `wait_ready`).
        self.startup = 0.0
        telegram.hooks.request.append(self._seen)
        telegram.hooks.response.append(self._answered)

    def _seen(self, call: Call) -> None:
        if self.proc is not None and call.method == "getUpdates":
            self.polls.append(time.monotonic())

    def _answered(self, call: Call) -> None:
        setting = call.method == "setWebhook" and call.ok and call.params.get("url")
        if self.proc is not None and setting:
            self.webhook_sets.append(time.monotonic())

    # -- running ---------------------------------------------------------------------------

    def spawn(self) -> None:
        """Start the process (Popen returns at once); stdout and stderr go to files."""
        self.polls.clear()
        self.webhook_sets.clear()
        with (
            self.stderr_path.open("ab") as stderr,
            (self.workdir / "bot.stdout.log").open("ab") as stdout,
        ):
            self.spawned = time.monotonic()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        _LIVE.add(self.proc)

    async def wait_ready(self, within: float = START_TIMEOUT) -> None:
        """Wait until the bot long-polls the fake, or serves its webhook; sets `startup`."""
        webhook = "WEBHOOK_URL" in self.env
        stamps = self.webhook_sets if webhook else self.polls
        what = "answered setWebhook" if webhook else "getUpdates"
        await wait_until(
            lambda: stamps or not self.running,
            within=within,
            what=lambda: f"the bot's first {what}; its log:\n{self.log[-4000:]}",
            interval=0.005,
        )
        if not stamps:
            raise BotFailed(f"the bot exited ({self.returncode}) early:\n{self.log[-4000:]}")
        self.startup = stamps[0] - self.spawned
        if webhook:  # PTB calls setWebhook before its server listens
            await self._listening()

    async def _listening(self) -> None:
        host = self.env.get("WEBHOOK_LISTEN", "127.0.0.1").replace("0.0.0.0", "127.0.0.1")
        port = int(self.env.get("WEBHOOK_PORT", "8080"))
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self.check_alive()
            try:
                _, writer = await asyncio.open_connection(host, port)
            except OSError:
                if time.monotonic() > deadline:
                    raise BotFailed(f"webhook port {port} not listening:\n{self.log}") from None
                await asyncio.sleep(0.005)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return

    async def start(self) -> None:
        """`spawn`, then `wait_ready`."""
        self.spawn()
        await self.wait_ready()

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the bot was not spawned"
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
        try:
            return self.stderr_path.read_text("utf-8", errors="replace")
        except OSError:
            return "(no log)"

    def check_alive(self) -> None:
        """Raise `BotFailed` if the process has ended."""
        if self.proc is not None and not self.running:
            raise BotFailed(f"the bot exited with {self.returncode}:\n{self.log[-4000:]}")

    def send_signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def wait_exit(self, within: float) -> int | None:
        """The exit code, or None if still running after `within` seconds."""
        with contextlib.suppress(WaitTimeout):
            await wait_until(lambda: not self.running, within=within)
        return self.returncode

    async def stop(self, within: float | None = None) -> int:
        """SIGTERM, wait (SIGKILL after the grace period and some slack); the exit code.

        Raises `BotFailed` if SIGTERM had to be followed by SIGKILL, and, when `clean_exit`,
        if the exit code is not 0.
        """
        assert self.proc is not None
        if self.running:
            grace = float(self.env.get("SHUTDOWN_GRACE", "25"))
            self.send_signal(signal.SIGTERM)
            if await self.wait_exit(within if within is not None else grace + STOP_SLACK) is None:
                self.kill()
                raise BotFailed(f"the bot ignored SIGTERM; killed it:\n{self.log[-4000:]}")
        code = self.proc.wait()
        _LIVE.discard(self.proc)
        if self.clean_exit and code != 0:
            raise BotFailed(f"exit code {code}:\n{self.log[-4000:]}")
        return code

    def kill(self) -> None:
        """SIGKILL: no cleanup at all."""
        assert self.proc is not None
        if self.running:
            self.send_signal(signal.SIGKILL)
        self.proc.wait()
        _LIVE.discard(self.proc)

    # -- the ledger, read-only -------------------------------------------------------------

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[JsonDict]:
        """A read-only query on the ledger (WAL readers do not block the bot)."""
        uri = f"file:{self.db_path}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql, params).fetchall()]

    def rows(self, where: str = "1", params: tuple[Any, ...] = ()) -> list[JsonDict]:
        """Ledger rows (`requests`) matching `where`, oldest first."""
        return self.query(f"SELECT * FROM requests WHERE {where} ORDER BY id", params)


@contextlib.asynccontextmanager
async def running_bot(
    telegram: FakeTelegram, gateway: FakeGateway, **settings: object
) -> AsyncIterator[BotProcess]:
    """The bot, ready, in a fresh temporary directory; stopped and removed whatever happens."""
    with tempfile.TemporaryDirectory(prefix="flash-bot-") as tmp:
        workdir = Path(tmp)
        env = bot_environment(telegram, gateway, workdir / "data" / "bot.sqlite3", **settings)
        bot = BotProcess(telegram, env, workdir)
        try:
            await bot.start()
            yield bot
        finally:
            if bot.proc is not None:
                await bot.stop()

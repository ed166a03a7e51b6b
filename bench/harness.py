"""Shared machinery: the fakes with timing records, the real bot as a subprocess, its memory.

Timing points (all `time.monotonic()`, which is one system-wide clock on Linux, so times
taken in the benchmark process and in the floor's process compare directly):

* an update is *handed out* when the fake's `getUpdates` handler returns the batch holding
  it (`BenchTelegram.handed_out`); the fake's own `Call.at` is the arrival of the poll,
  which for a long poll is seconds earlier, so the fake's `updates` hook stamps the answer;
* in webhook mode an update is *delivered* when the fake starts POSTing it to the bot's
  webhook (`BenchTelegram.delivered`, stamped by the fake's `webhook` hook before the POST
  is built and sent); `BenchTelegram.webhook_answered` stamps the bot's answer to that
  POST, for context;
* a send *arrives* when its whole request body has been read and parsed, just before the
  fake works on it (`BenchTelegram.arrivals`, the `request` hook), so the fake's own
  processing (thumbnailing, bookkeeping) is counted neither for the bot nor for the floor.

The bot runs as `python -m bot` in a temporary working directory (no `.env` there), with an
environment cleaned of every bot setting the developer's shell may carry. By default it
long-polls; with a `Webhook` it serves webhooks on 127.0.0.1 instead (`running_bot`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `python bench/run.py` and friends
    sys.path.insert(0, str(REPO_ROOT))

from bench.floor import floor_args  # noqa: E402
from tests.fakes.gateway import FakeGateway  # noqa: E402
from tests.fakes.images import big_png  # noqa: E402
from tests.fakes.telegram import Call, FakeTelegram  # noqa: E402

JsonDict = dict[str, Any]

TOKEN = "123456:bench-fake-bot-token"
API_KEY = "sk-bench-gateway-key"
MB = 1024 * 1024
#: What a standard (about 1K) result weighs: a 1024x1024 PNG of about 1 MB.
STANDARD_IMAGE_BYTES = 1 * MB
#: An HD (4K) result: a 3840x2160 PNG of 12 MB.
HD_IMAGE_BYTES = 12 * MB
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
#: A bot setting the benchmark passes although SPEC section 4 does not list it: how long a
#: stop waits for requests in flight. Short, so that stopping the bot never slows a run.
SHUTDOWN_GRACE = "1"


@functools.cache
def standard_image() -> bytes:
    """A ~1 MB 1024x1024 PNG, the size of a standard Gemini 2.5 Flash Image result."""
    return big_png(STANDARD_IMAGE_BYTES, width=1024, height=1024)


@functools.cache
def hd_image() -> bytes:
    """A ~12 MB 3840x2160 PNG, an HD result."""
    return big_png(HD_IMAGE_BYTES)


def percentile(values: Iterable[float], pct: float) -> float:
    """The `pct` percentile, interpolating linearly between the two closest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --------------------------------------------------------------------------------------------
# The fake Bot API server, with the timing points the benchmark needs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Arrival:
    """A send whose request body has fully arrived at the fake."""

    method: str
    chat_id: int | None
    reply_to: int | None
    at: float


def _reply_to(params: JsonDict) -> int | None:
    reply = params.get("reply_parameters")
    if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
        return int(reply["message_id"])
    return None


_SENDS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})


class BenchTelegram(FakeTelegram):
    """`FakeTelegram` that also stamps when updates are handed out and sends arrive.

    Waiting on the stamps is event driven and incremental (each wake-up looks only at new
    stamps), so a benchmark waiting for hundreds of sends costs the fakes' event loop,
    which it shares, next to nothing.
    """

    def __init__(self, token: str = TOKEN) -> None:
        # The benchmark never reads uploads back from the call records, and keeping them
        # (~1 MB per photo, 12 MB per HD document) grew this process by ~400 MB per
        # 200-user round; stored files are kept apart, so sends still work.
        super().__init__(token=token, keep_uploads=False)
        self.handed_out: dict[int, float] = {}
        self.poll_arrivals: list[float] = []
        self.delivered: dict[int, float] = {}
        self.webhook_answered: dict[int, float] = {}
        #: When the fake answered a `setWebhook` call that set a URL.
        self.webhook_sets: list[float] = []
        self.arrivals: list[Arrival] = []
        self._stamped = asyncio.Event()
        self._watch()

    def _notify(self) -> None:
        event, self._stamped = self._stamped, asyncio.Event()
        event.set()

    async def _next_stamp(self, deadline: float, what: str) -> None:
        event = self._stamped
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"timed out waiting for {what}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), remaining)

    def _watch(self) -> None:
        self.hooks.request.append(self._arrived)
        self.hooks.response.append(self._answered)
        self.hooks.updates.append(self._handed_out)
        self.hooks.webhook.append(self._delivery)

    def _arrived(self, call: Call) -> None:
        if call.method == "getUpdates":
            self.poll_arrivals.append(call.at)
        elif call.method in _SENDS:
            chat = call.params.get("chat_id")
            chat_id = chat if isinstance(chat, int) else None
            self.arrivals.append(
                Arrival(call.method, chat_id, _reply_to(call.params), time.monotonic())
            )
        else:
            return
        self._notify()

    def _answered(self, call: Call) -> None:
        if call.method == "setWebhook" and call.ok and call.params.get("url"):
            self.webhook_sets.append(time.monotonic())
            self._notify()

    def _handed_out(self, updates: list[JsonDict]) -> None:
        now = time.monotonic()
        for update in updates:
            self.handed_out.setdefault(int(update["update_id"]), now)
        self._notify()

    def _delivery(self, update: JsonDict, phase: str) -> None:
        stamps = self.delivered if phase == "posting" else self.webhook_answered
        stamps.setdefault(int(update["update_id"]), time.monotonic())
        self._notify()

    # ------------------------------------------------------------ playing users

    def text_update(self, user_id: int, text: str) -> JsonDict:
        """An unpushed update: user `user_id` writes `text` in their private chat."""
        user = self.user(user_id, f"User{user_id}")
        return self.send_text(user, self.private_chat(user), text, push=False)

    # ------------------------------------------------------------ reading the stamps

    def arrival_of(
        self, method: str, chat_id: int, reply_to: int | None = None, start: int = 0
    ) -> Arrival | None:
        """The first `method` send to `chat_id` (replying to `reply_to`, when given)."""
        for arrival in self.arrivals[start:]:
            if arrival.method != method or arrival.chat_id != chat_id:
                continue
            if reply_to is None or arrival.reply_to == reply_to:
                return arrival
        return None

    def arrivals_to(self, method: str, chats: set[int]) -> list[Arrival]:
        """Every `method` send to one of `chats`."""
        return [a for a in self.arrivals if a.method == method and a.chat_id in chats]

    async def wait_handed_out(self, update_ids: Iterable[int], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until every update of `update_ids` was handed out by `getUpdates`."""
        wanted = set(update_ids)
        deadline = time.monotonic() + timeout
        while not wanted <= self.handed_out.keys():
            await self._next_stamp(deadline, f"updates {sorted(wanted)} to be handed out")

    async def wait_reply(
        self,
        method: str,
        chat_id: int,
        reply_to: int | None = None,
        timeout: float = 30.0,  # noqa: ASYNC109 - a deadline is the point
    ) -> Arrival:
        """Wait until a `method` send to `chat_id` (replying to `reply_to`) has arrived."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            found = self.arrival_of(method, chat_id, reply_to, start=seen)
            if found is not None:
                return found
            seen = len(self.arrivals)
            await self._next_stamp(deadline, f"{method} to {chat_id}: {self.summary(10)}")

    async def wait_sends(
        self,
        method: str,
        chats: set[int],
        timeout: float = 60.0,  # noqa: ASYNC109 - a deadline is the point
    ) -> list[Arrival]:
        """Wait until a `method` send to each of `chats` has arrived; those arrivals."""
        deadline = time.monotonic() + timeout
        found: dict[int, Arrival] = {}
        seen = 0
        while len(found) < len(chats):
            for arrival in self.arrivals[seen:]:
                if arrival.method == method and arrival.chat_id in chats:
                    found.setdefault(arrival.chat_id, arrival)
            seen = len(self.arrivals)
            if len(found) < len(chats):
                what = f"{method} to {len(chats) - len(found)} more chat(s)"
                await self._next_stamp(deadline, what)
        return list(found.values())


def floor_command(
    mode: str, telegram: FakeTelegram, gateway: FakeGateway, **options: object
) -> list[str]:
    """The floor's command line for `mode` against these fakes (see `bench.floor`)."""
    return floor_args(mode, gateway.url, telegram.url, telegram.token, API_KEY, **options)


@contextlib.asynccontextmanager
async def fakes() -> AsyncIterator[tuple[BenchTelegram, FakeGateway]]:
    """A fresh fake Bot API server and fake gateway, both on 127.0.0.1."""
    telegram = BenchTelegram()
    async with telegram, FakeGateway(api_key=API_KEY) as gateway:
        yield telegram, gateway


# --------------------------------------------------------------------------------------------
# The bot process
# --------------------------------------------------------------------------------------------

_LIVE: set[asyncio.subprocess.Process] = set()


@atexit.register
def _kill_leftovers() -> None:
    """Last resort: never leave a bot running after the benchmark process ends."""
    for process in list(_LIVE):
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)


def _bot_setting_names() -> set[str]:
    from bot.config import Settings

    return {name.upper() for name in Settings.model_fields}


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without bot settings, the repo importable, plus `extra`."""
    blocked = _bot_setting_names()
    env = {k: v for k, v in os.environ.items() if k.upper() not in blocked}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Webhook:
    """Webhook mode: where the bot listens, on 127.0.0.1, and the secret it checks."""

    port: int
    path: str = "bench-webhook"
    secret: str = "bench-webhook-secret_0123456789"
    host: str = "127.0.0.1"

    @classmethod
    def on_free_port(cls) -> Webhook:
        """A webhook on a port that is free now."""
        return cls(free_port())

    @property
    def url(self) -> str:
        """The URL the bot registers with `setWebhook` and serves."""
        return f"http://{self.host}:{self.port}/{self.path}"

    def env(self) -> dict[str, str]:
        """The bot settings that switch it to webhook mode (SPEC section 4)."""
        return {
            "WEBHOOK_URL": self.url,
            "WEBHOOK_LISTEN": self.host,
            "WEBHOOK_PORT": str(self.port),
            "WEBHOOK_SECRET": self.secret,
        }


def bot_env(
    telegram: FakeTelegram,
    gateway: FakeGateway,
    database: Path,
    max_concurrent: int,
    webhook: Webhook | None = None,
) -> dict[str, str]:
    """The bot's configuration: the fakes, a fresh ledger, no quota, quiet logs.

    Long polling, or webhook mode with `webhook`.
    """
    return child_env(
        {
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_API_URL": telegram.url,
            "IMAGE_API_BASE_URL": gateway.url,
            "IMAGE_API_KEY": API_KEY,
            "DATABASE_PATH": str(database),
            "MAX_CONCURRENT_REQUESTS": str(max_concurrent),
            "DAILY_QUOTA": "0",
            "LOG_LEVEL": "WARNING",
            "SHUTDOWN_GRACE": SHUTDOWN_GRACE,
            **(webhook.env() if webhook is not None else {}),
        }
    )


class BotDied(RuntimeError):
    """The bot process ended or never became ready; the message holds its log's tail."""


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


async def terminate(process: asyncio.subprocess.Process, timeout: float = STOP_TIMEOUT) -> None:  # noqa: ASYNC109
    """SIGTERM, then SIGKILL if the process is still there after `timeout` seconds."""
    try:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
    finally:
        _LIVE.discard(process)


class BotProcess:
    """The real bot, `python -m bot`, running against the fakes.

    Long polling by default; in webhook mode (`webhook`) it is ready once the fake has
    answered its `setWebhook` call and its webhook port accepts connections.
    """

    def __init__(
        self,
        telegram: BenchTelegram,
        gateway: FakeGateway,
        workdir: Path,
        max_concurrent: int,
        webhook: Webhook | None = None,
    ) -> None:
        self._telegram = telegram
        self._gateway = gateway
        self._workdir = workdir
        self._max_concurrent = max_concurrent
        self._webhook = webhook
        self._process: asyncio.subprocess.Process | None = None
        self.log_path = workdir / "bot.log"
        #: Seconds from spawning the process to its first `getUpdates` reaching the fake
        #: (webhook mode: to the fake answering its `setWebhook`).
        self.startup: float = 0.0

    @property
    def pid(self) -> int:
        """The bot's process id."""
        assert self._process is not None, "the bot is not running"
        return self._process.pid

    async def start(self) -> None:
        """Spawn the bot and wait for its first `getUpdates` (webhook mode: `setWebhook`)."""
        env = bot_env(
            self._telegram,
            self._gateway,
            self._workdir / "data" / "bot.sqlite3",
            self._max_concurrent,
            self._webhook,
        )
        polls_before = len(self._telegram.poll_arrivals)
        sets_before = len(self._telegram.webhook_sets)
        with self.log_path.open("ab") as log:
            spawned = time.monotonic()
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                cwd=self._workdir,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        _LIVE.add(self._process)
        deadline = time.monotonic() + READY_TIMEOUT
        if self._webhook is None:
            ready = await self._first(
                self._telegram.poll_arrivals, polls_before, "getUpdates", deadline
            )
        else:
            sets = self._telegram.webhook_sets
            ready = await self._first(sets, sets_before, "setWebhook", deadline)
            await self._webhook_listening(self._webhook, deadline)
        self.startup = ready - spawned

    async def _first(self, stamps: list[float], before: int, what: str, deadline: float) -> float:
        """The first stamp past `before` in `stamps` (which the fake appends to)."""
        assert self._process is not None
        while len(stamps) <= before:
            self.check_alive()
            if time.monotonic() > deadline:
                raise BotDied(f"no {what} within {READY_TIMEOUT:.0f}s:\n{self.log()}")
            await asyncio.sleep(0.005)
        return stamps[before]

    async def _webhook_listening(self, webhook: Webhook, deadline: float) -> None:
        """Wait until the webhook port accepts connections.

        PTB calls `setWebhook` before its tornado server listens; an update pushed in
        between would be refused, and the fake does not retry deliveries.
        """
        while True:
            self.check_alive()
            try:
                _, writer = await asyncio.open_connection(webhook.host, webhook.port)
            except OSError:
                if time.monotonic() > deadline:
                    raise BotDied(
                        f"webhook port {webhook.port} not listening within "
                        f"{READY_TIMEOUT:.0f}s:\n{self.log()}"
                    ) from None
                await asyncio.sleep(0.005)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return

    def check_alive(self) -> None:
        """Raise `BotDied` if the process has ended."""
        if self._process is not None and self._process.returncode is not None:
            raise BotDied(f"the bot exited with {self._process.returncode}:\n{self.log()}")

    def log(self) -> str:
        """The tail of the bot's log."""
        return _tail(self.log_path)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after a timeout."""
        if self._process is not None:
            await terminate(self._process)

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the bot process has used so far."""
        return process_cpu_seconds(self.pid)

    def rss_mb(self) -> float:
        """Resident memory now (VmRSS), in MiB."""
        return proc_status_kb(self.pid, "VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        """The highest resident memory since the process started (VmHWM), in MiB."""
        return proc_status_kb(self.pid, "VmHWM") / 1024


@contextlib.asynccontextmanager
async def running_bot(
    telegram: BenchTelegram,
    gateway: FakeGateway,
    *,
    max_concurrent: int = 32,
    webhook: Webhook | None = None,
) -> AsyncIterator[BotProcess]:
    """The bot running in a temporary directory; stopped and cleaned up whatever happens.

    Long polling, or webhook mode with `webhook`.
    """
    with tempfile.TemporaryDirectory(prefix="flash-bench-") as tmp:
        bot = BotProcess(telegram, gateway, Path(tmp), max_concurrent, webhook)
        try:
            await bot.start()
            yield bot
        finally:
            await bot.stop()


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kb(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM …)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(f"{field} not in /proc/{pid}/status")


class _Background:
    """Runs `_run()` as a background task for the duration of an `async with`."""

    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class RssSampler(_Background):
    """Samples a process's VmRSS every `interval` seconds while the block runs."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self._pid = pid
        self._interval = interval
        self.peak_kb = 0
        self.samples = 0

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(OSError, KeyError, ValueError):
                self.peak_kb = max(self.peak_kb, proc_status_kb(self._pid, "VmRSS"))
                self.samples += 1
            await asyncio.sleep(self._interval)

    @property
    def peak_mb(self) -> float:
        """The highest sample, in MiB."""
        return self.peak_kb / 1024


class LoopLag(_Background):
    """Records how late this process's own event loop wakes up (the fakes run on it).

    A sleep of `interval` that returns later than asked means the loop was busy: the fakes
    (which share it) then stamp arrivals late too, inflating what the benchmark measures.
    """

    def __init__(self, interval: float = 0.005) -> None:
        self._interval = interval
        self.samples: list[tuple[float, float]] = []  # (woke at, seconds late)

    async def _run(self) -> None:
        while True:
            asked = time.monotonic()
            await asyncio.sleep(self._interval)
            woke = time.monotonic()
            self.samples.append((woke, woke - asked - self._interval))

    def worst_between(self, start: float, end: float) -> float:
        """The largest lag (seconds) of a wake-up in [start, end + one interval]."""
        window = [late for woke, late in self.samples if start <= woke <= end + self._interval]
        return max(window, default=0.0)


async def wait_until(
    condition: Callable[[], bool],
    timeout: float,  # noqa: ASYNC109 - a deadline is the point
    interval: float = 0.002,
) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(interval)
    return True

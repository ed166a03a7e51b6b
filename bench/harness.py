"""The one harness every row runs on: the fakes with timing stamps, the bot, the floor, /proc.

Timing points (all `time.monotonic()`, one system-wide clock on Linux, so stamps taken here,
in the bot's process and in the floor's compare directly), recorded through the fake Bot
API's public hooks:

* an update is *handed out* when a `getUpdates` answer holding it is about to be returned
  (`handed_out`; the fake's own `Call.at` is the arrival of the poll, seconds earlier for a
  long poll); in webhook mode it is *delivered* when the fake starts POSTing it to the
  bot (`delivered`), and `webhook_answered` stamps the bot's answer to that POST;
* a send *arrives* when its whole request body has been read and parsed, before the fake
  works on it (`arrivals`), so the fake's own processing counts neither for the bot nor
  for the floor.

The bot is `tests.support.process.BotProcess`, the runner the reliability tests use; the
floor is `python -m bench.floor` (see that module).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from tests.fakes.gateway import FakeGateway
from tests.fakes.images import big_png
from tests.fakes.telegram import Call, FakeTelegram
from tests.support.process import REPO, BotProcess, running_bot
from tests.support.waits import Pulse, wait_for, wait_until

JsonDict = dict[str, Any]

TOKEN = "123456:bench-fake-bot-token"
API_KEY = "sk-bench-gateway-key"
MB = 1024 * 1024
_SENDS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})


@functools.cache
def standard_image() -> bytes:
    """A ~1 MB 1024x1024 PNG, the size of a standard Gemini 2.5 Flash Image result."""
    return big_png(1 * MB, width=1024, height=1024)


@functools.cache
def hd_image() -> bytes:
    """A ~12 MB 3840x2160 PNG, an HD (4K) result at 16:9."""
    return big_png(12 * MB)


@functools.cache
def square_hd_image() -> bytes:
    """A ~13 MB 4096x4096 PNG: the HD model's "4K" for the default 1:1 ratio."""
    return big_png(13 * MB, width=4096, height=4096)


def percentile(values: Iterable[float], pct: float) -> float:
    """The `pct` percentile, interpolating linearly between the two closest ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A send whose request body has fully arrived at the fake."""

    method: str
    chat_id: int | None
    reply_to: int | None
    at: float

    def matches(self, method: str, chat_id: int, reply_to: int | None = None) -> bool:
        """A `method` send to `chat_id` (replying to `reply_to`, when given)."""
        return (self.method, self.chat_id) == (method, chat_id) and reply_to in (
            None,
            self.reply_to,
        )


class BenchTelegram(FakeTelegram):
    """`FakeTelegram` with the stamps above; waiting on them is event driven (a `Pulse`).

    Each wake-up looks only at new stamps, so a row waiting for hundreds of sends costs the
    event loop the fakes share next to nothing.
    """

    def __init__(self) -> None:
        # Uploads are never read back here; keeping them grew this process by ~400 MB per
        # 200-user round (stored files are kept apart, so sends still work).
        super().__init__(token=TOKEN, keep_uploads=False)
        self.handed_out: dict[int, float] = {}
        self.delivered: dict[int, float] = {}
        self.webhook_answered: dict[int, float] = {}
        self.poll_arrivals: list[float] = []
        self.arrivals: list[Arrival] = []
        self.pulse = Pulse()
        self.hooks.request.append(self._arrived)
        self.hooks.updates.append(self._handed_out)
        self.hooks.webhook.append(self._delivery)

    def _arrived(self, call: Call) -> None:
        if call.method == "getUpdates":
            self.poll_arrivals.append(call.at)
        elif call.method in _SENDS:
            chat, reply = call.params.get("chat_id"), call.params.get("reply_parameters")
            replied = reply.get("message_id") if isinstance(reply, dict) else None
            self.arrivals.append(
                Arrival(
                    call.method,
                    chat if isinstance(chat, int) else None,
                    replied if isinstance(replied, int) else None,
                    time.monotonic(),
                )
            )
            self.pulse.beat()

    def _handed_out(self, updates: list[JsonDict]) -> None:
        now = time.monotonic()
        for update in updates:
            self.handed_out.setdefault(int(update["update_id"]), now)
        self.pulse.beat()

    def _delivery(self, update: JsonDict, phase: str) -> None:
        stamps = self.delivered if phase == "posting" else self.webhook_answered
        stamps.setdefault(int(update["update_id"]), time.monotonic())

    def text_update(self, user_id: int, text: str) -> JsonDict:
        """An unpushed update: user `user_id` writes `text` in their private chat."""
        user = self.user(user_id, f"User{user_id}")
        return self.send_text(user, self.private_chat(user), text, push=False)

    def arrival_of(
        self, method: str, chat_id: int, reply_to: int | None = None, start: int = 0
    ) -> Arrival | None:
        """The first matching send (see `Arrival.matches`) from index `start` on."""
        return next(
            (a for a in self.arrivals[start:] if a.matches(method, chat_id, reply_to)), None
        )

    def arrivals_to(self, method: str, chats: set[int]) -> list[Arrival]:
        """Every `method` send to one of `chats`."""
        return [a for a in self.arrivals if a.method == method and a.chat_id in chats]

    async def wait_handed_out(self, update_ids: Iterable[int], within: float = 10.0) -> None:
        """Until every update of `update_ids` was handed out by `getUpdates`."""
        wanted = set(update_ids)
        await wait_until(
            lambda: wanted <= self.handed_out.keys(),
            within=within,
            what=f"updates {sorted(wanted)} handed out",
            pulse=self.pulse,
        )

    async def wait_sends(self, method: str, chats: set[int], within: float = 60.0) -> list[Arrival]:
        """Until a `method` send to each of `chats` has arrived; the first one to each."""
        found: dict[int, Arrival] = {}
        seen = 0

        def complete() -> bool:
            nonlocal seen
            for arrival in self.arrivals[seen:]:
                if arrival.method == method and arrival.chat_id in chats:
                    found.setdefault(arrival.chat_id, arrival)
            seen = len(self.arrivals)
            return len(found) == len(chats)

        await wait_until(
            complete,
            within=within,
            what=lambda: f"{method} to {len(chats) - len(found)} more chat(s): {self.summary(10)}",
            pulse=self.pulse,
        )
        return list(found.values())

    async def wait_reply(self, method: str, chat_id: int, reply_to: int | None = None) -> Arrival:
        """Until a `method` send to `chat_id` (replying to `reply_to`) has arrived."""
        seen = 0

        def find() -> Arrival | None:
            nonlocal seen
            start, seen = seen, len(self.arrivals)
            return self.arrival_of(method, chat_id, reply_to, start)

        return await wait_for(
            find,
            within=30.0,
            what=lambda: f"{method} to {chat_id}: {self.summary(10)}",
            pulse=self.pulse,
        )


@contextlib.asynccontextmanager
async def fakes() -> AsyncIterator[tuple[BenchTelegram, FakeGateway]]:
    """A fresh fake Bot API server and fake gateway, both on 127.0.0.1."""
    async with BenchTelegram() as telegram, FakeGateway(api_key=API_KEY) as gateway:
        yield telegram, gateway


def webhook_settings() -> dict[str, str]:
    """The settings of webhook mode (SPEC section 4) on a port of 127.0.0.1 free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/bench-webhook",
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_SECRET": "bench-webhook-secret_0123456789",
    }


#: The checkout whose `bot` package runs (`python -m bench --bot PATH`); None: this one.
BOT_TREE: Path | None = None


def bot(
    telegram: BenchTelegram,
    gateway: FakeGateway,
    *,
    max_concurrent: int = 32,
    webhook: bool = False,
) -> contextlib.AbstractAsyncContextManager[BotProcess]:
    """The bot against these fakes: a fresh ledger, no quota, quiet logs, a 1 s stop.

    Long polling, or with `webhook` webhook mode on a free port of 127.0.0.1 with a secret.
    The bot is this checkout's, or `BOT_TREE`'s.
    """
    return running_bot(
        telegram,
        gateway,
        MAX_CONCURRENT_REQUESTS=max_concurrent,
        DAILY_QUOTA=0,
        LOG_LEVEL="WARNING",
        SHUTDOWN_GRACE=1,
        **(webhook_settings() if webhook else {}),
        **({"PYTHONPATH": str(BOT_TREE)} if BOT_TREE is not None else {}),
    )


# -- the floor -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FloorRun:
    """What a floor process printed (`cpu_s` and its mode's stamps), and when it was spawned."""

    result: dict[str, Any]
    spawned: float


async def floor(
    mode: str, telegram: FakeTelegram, gateway: FakeGateway, **options: object
) -> FloorRun:
    """Run `python -m bench.floor <mode>` against these fakes; what it printed."""
    args = [f"--gateway={gateway.url}", f"--telegram={telegram.url}", f"--token={telegram.token}"]
    args += [f"--api-key={API_KEY}", *(f"--{k.replace('_', '-')}={v}" for k, v in options.items())]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    spawned = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bench.floor", mode, *args),
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 180)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"the floor failed ({process.returncode}): {err.decode()[-2000:]}")
    return FloorRun(json.loads(out.decode().splitlines()[-1]), spawned)


# -- the bot process from outside: /proc -----------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads) so far, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory field of /proc/<pid>/status in MiB: VmRSS now, VmHWM the peak so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise KeyError(f"{field} not in /proc/{pid}/status")


class Sampler:
    """While the block runs, every `interval` s: the process's peak VmRSS (`pid`), and how
    late this process's own loop woke (`lags`), the fakes then stamping late too.
    """

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self._pid = pid
        self._interval = interval
        self.peak_mb = 0.0
        self.lags: list[tuple[float, float]] = []  # (woke at, seconds late)
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(OSError, KeyError, ValueError):
                self.peak_mb = max(self.peak_mb, memory_mb(self._pid))
            asked = time.monotonic()
            await asyncio.sleep(self._interval)
            woke = time.monotonic()
            self.lags.append((woke, woke - asked - self._interval))

    def worst_lag(self, start: float, end: float) -> float:
        """The largest lag (seconds) of a wake-up in [start, end + one interval]."""
        window = [late for woke, late in self.lags if start <= woke <= end + self._interval]
        return max(window, default=0.0)

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

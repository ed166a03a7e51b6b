"""Concurrency: N users at once, each waiting 2 s for the gateway; how long until all are served.

N users (different ids, private chats) each send a text; the N updates are pushed in one
batch. The gateway answers each after 2 s with a markdown link to a ~1 MB PNG, and
`MAX_CONCURRENT_REQUESTS` is above N, so in an ideal bot all N requests run together and
the whole batch takes ~2 s plus the transfers. The figure is the wall time from the push
until the last `sendPhoto` upload has arrived at the fake.

The floor (`bench.floor concurrent`) starts N of its request sequences at once, each on its
own new connections, and is timed from its launch to the last of its `sendPhoto` uploads
arriving at the same fake. Both wait the same 2 s for the same gateway, download and
upload the same bytes through the same fakes; what differs is the bot's own handling of
N requests at once: PTB's update dispatch, the connection pools, the ledger, image checks.

The notes give each process's CPU time per request (the bot's from /proc, the floor's
own), which the shared fakes cannot blur.

The machine's noise (two processes sharing the CPUs with the fakes) moves single runs by
20 %; each level is therefore run 3 times, floor and bot alternating, and medians compared.

Target: bot/floor <= 1.3 at 200 users (the ratio is reported at every N).

Standalone: `python bench/concurrency.py [--users N]` (default 100) prints that one figure.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # `python bench/concurrency.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.floor import run_floor
from bench.harness import (
    BenchTelegram,
    BotProcess,
    fakes,
    floor_command,
    running_bot,
    standard_image,
)
from bench.report import Figure
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway

ROW = "concurrency"
LEVELS = (1, 50, 200)
QUICK_LEVELS = (1, 50)
TARGET_USERS = 200
GATEWAY_DELAY = 2.0
RATIO_TARGET = 1.3
FLOOR_CHATS = 800_000_000
WARMUP_USER = 2_000_000
SEND_TIMEOUT = 120.0
CPU_SETTLE = 0.3
ROUNDS = 3
QUICK_ROUNDS = 1


async def bot_wall(
    telegram: BenchTelegram, bot: BotProcess, users: int, first_user: int
) -> tuple[float, float]:
    """Push `users` texts in one batch; seconds until the last photo arrived, CPU seconds."""
    chats = set(range(first_user, first_user + users))
    updates = [telegram.text_update(uid, f"a fox in the snow #{uid}") for uid in sorted(chats)]
    cpu = bot.cpu_seconds()
    pushed = time.monotonic()
    telegram.push_updates(updates)
    arrivals = await telegram.wait_sends("sendPhoto", chats, timeout=SEND_TIMEOUT)
    await asyncio.sleep(CPU_SETTLE)  # the bookkeeping after each photo belongs to the request
    return max(a.at for a in arrivals) - pushed, bot.cpu_seconds() - cpu


async def floor_wall(
    telegram: BenchTelegram, gateway: FakeGateway, users: int
) -> tuple[float, float]:
    """The floor's `users` requests at once; seconds until the last photo arrived, CPU s."""
    base = FLOOR_CHATS + len(telegram.arrivals)  # fresh chat ids at every call
    run = await run_floor(
        floor_command("concurrent", telegram, gateway, users=users, chat_base=base)
    )
    arrivals = telegram.arrivals_to("sendPhoto", set(range(base, base + users)))
    assert len(arrivals) == users, f"the floor delivered {len(arrivals)} of {users} photos"
    return max(a.at for a in arrivals) - float(run.result["launched"]), float(run.result["cpu_s"])


async def measure(levels: Sequence[int], rounds: int) -> dict[int, Samples]:
    """Bot and floor wall times (seconds) for each number of users, `rounds` times each.

    Rounds alternate floor and bot at every level, so a drift of the machine's speed
    hits both alike; the medians are compared.
    """
    results = {users: Samples() for users in levels}
    first_user = 10_000
    async with fakes() as (telegram, gateway):
        gateway.default = gw.markdown(standard_image(), delay=GATEWAY_DELAY)
        async with running_bot(telegram, gateway, max_concurrent=max(levels) + 10) as bot:
            await bot_wall(telegram, bot, 1, WARMUP_USER)  # imports, connections, first decode
            for _ in range(rounds):
                for users in levels:
                    results[users].add_floor(*await floor_wall(telegram, gateway, users))
                    results[users].add_bot(*await bot_wall(telegram, bot, users, first_user))
                    first_user += users
    return results


@dataclass
class Samples:
    """Wall times, in seconds, of the rounds at one number of users."""

    bot: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    bot_cpu: list[float] = field(default_factory=list)
    floor_cpu: list[float] = field(default_factory=list)

    def add_bot(self, wall: float, cpu: float) -> None:
        """One round of the bot."""
        self.bot.append(wall)
        self.bot_cpu.append(cpu)

    def add_floor(self, wall: float, cpu: float) -> None:
        """One round of the floor."""
        self.floor.append(wall)
        self.floor_cpu.append(cpu)

    @property
    def medians(self) -> tuple[float, float]:
        """(bot, floor) medians of the wall times."""
        return statistics.median(self.bot), statistics.median(self.floor)

    def cpu_note(self, users: int) -> str:
        """Median CPU time per request of each process."""
        bot = statistics.median(self.bot_cpu) / users * 1000
        floor = statistics.median(self.floor_cpu) / users * 1000
        return f"CPU per request: bot process {bot:.1f} ms, floor process {floor:.1f} ms"


def figures(results: dict[int, Samples]) -> list[Figure]:
    """One row per number of users (medians of the rounds); the target applies at 200."""
    rows = []
    for users, samples in results.items():
        bot, floor = samples.medians
        judged = users == TARGET_USERS
        rows.append(
            Figure(
                ROW,
                f"{users} user{'s' if users != 1 else ''} at once, gateway 2 s",
                bot,
                "s",
                floor=floor,
                target=f"<= {RATIO_TARGET}x floor" if judged else "",
                ok=(bot <= RATIO_TARGET * floor) if judged else None,
                note=samples.cpu_note(users),
                details={
                    "users": users,
                    "gateway_delay_s": GATEWAY_DELAY,
                    "bot_s": [round(x, 3) for x in samples.bot],
                    "floor_s": [round(x, 3) for x in samples.floor],
                    "bot_cpu_s": [round(x, 3) for x in samples.bot_cpu],
                    "floor_cpu_s": [round(x, 3) for x in samples.floor_cpu],
                },
            )
        )
    return rows


async def run(quick: bool) -> list[Figure]:
    """The concurrency rows."""
    if quick:
        return figures(await measure(QUICK_LEVELS, QUICK_ROUNDS))
    return figures(await measure(LEVELS, ROUNDS))


def main(argv: Sequence[str] | None = None) -> int:
    """`python bench/concurrency.py [--users N]`: the one concurrency figure."""
    parser = argparse.ArgumentParser(prog="python bench/concurrency.py", description=__doc__)
    parser.add_argument("--users", type=int, default=100, help="users at once (default 100)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="medians of (default 3)")
    args = parser.parse_args(argv)
    if args.users < 1 or args.rounds < 1:
        parser.error("--users and --rounds must be at least 1")
    try:
        samples = asyncio.run(measure([args.users], args.rounds))[args.users]
    except KeyboardInterrupt:
        return 130
    bot, floor = samples.medians
    ratio = bot / floor
    verdict = "PASS" if ratio <= RATIO_TARGET else "MISS"
    print(
        f"concurrency, {args.users} users at once (gateway {GATEWAY_DELAY:.0f} s): "
        f"bot {bot:.3f} s, floor {floor:.3f} s (medians of {args.rounds}), bot/floor {ratio:.2f} "
        f"(target <= {RATIO_TARGET}) {verdict}"
    )
    return 0 if ratio <= RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

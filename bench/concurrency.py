"""Concurrency: N users at once, each waiting 2 s for the gateway; how long until all are served.

N users (1, 50, 200; 1 and 20 with `--quick`) each send a text; the N updates are pushed in
one batch. The gateway answers each after 2 s with a markdown link to a ~1 MB PNG, and
`MAX_CONCURRENT_REQUESTS` is above N, so in an ideal bot all N requests run together and
the batch takes ~2 s plus the transfers. The figure is the wall time from the push until
the last `sendPhoto` upload has arrived at the fake.

The floor (`bench.floor concurrent`) starts N request sequences at once, each on its own new
connections, timed from its launch to the last of its `sendPhoto` uploads arriving at the
same fake: the same 2 s, the same bytes through the same fakes. What differs is the bot's
own handling of N requests at once: PTB's dispatch, the connection pools, the ledger,
image checks. The note gives each process's CPU time per request.

Noise moves single runs by 20 %, so each level runs 3 times (once with `--quick`), floor
and bot alternating, and medians are compared. Targets at 200 users: bot/floor <= 1.3 in
wall time, and CPU per request (each process's own, from /proc and the floor's report)
<= 2.5x the floor's.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

from bench.harness import (
    BenchTelegram,
    bot,
    cpu_seconds,
    fakes,
    floor,
    standard_image,
)
from bench.report import Figure
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway

ROW = "concurrency"
TARGET_USERS = 200
GATEWAY_DELAY = 2.0
RATIO_TARGET = 1.3
CPU_RATIO_TARGET = 2.5
FLOOR_CHATS = 800_000_000
WARMUP_USER = 2_000_000
CPU_SETTLE = 0.3


@dataclass
class Samples:
    """Wall and CPU seconds of the rounds at one number of users, per side."""

    bot: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    bot_cpu: list[float] = field(default_factory=list)
    floor_cpu: list[float] = field(default_factory=list)


async def bot_round(
    telegram: BenchTelegram, pid: int, users: int, first_user: int
) -> tuple[float, float]:
    """Push `users` texts in one batch; seconds until the last photo arrived, CPU seconds."""
    chats = set(range(first_user, first_user + users))
    updates = [telegram.text_update(uid, f"a fox in the snow #{uid}") for uid in sorted(chats)]
    cpu = cpu_seconds(pid)
    pushed = time.monotonic()
    telegram.push_updates(updates)
    arrivals = await telegram.wait_sends("sendPhoto", chats, within=120)
    await asyncio.sleep(CPU_SETTLE)  # the bookkeeping after each photo belongs to the request
    return max(a.at for a in arrivals) - pushed, cpu_seconds(pid) - cpu


async def floor_round(
    telegram: BenchTelegram, gateway: FakeGateway, users: int
) -> tuple[float, float]:
    """The floor's `users` requests at once; seconds until the last photo arrived, CPU s."""
    base = FLOOR_CHATS + len(telegram.arrivals)  # fresh chat ids at every call
    run = await floor("concurrent", telegram, gateway, users=users, chat_base=base)
    arrivals = telegram.arrivals_to("sendPhoto", set(range(base, base + users)))
    assert len(arrivals) == users, f"the floor delivered {len(arrivals)} of {users} photos"
    return max(a.at for a in arrivals) - float(run.result["launched"]), float(run.result["cpu_s"])


async def measure(levels: tuple[int, ...], rounds: int) -> dict[int, Samples]:
    """Both sides at each number of users, `rounds` times, floor and bot alternating."""
    results = {users: Samples() for users in levels}
    first_user = 10_000
    async with fakes() as (telegram, gateway):
        gateway.default = gw.markdown(standard_image(), delay=GATEWAY_DELAY)
        async with bot(telegram, gateway, max_concurrent=max(levels) + 10) as process:
            await bot_round(telegram, process.pid, 1, WARMUP_USER)  # imports, connections
            for _ in range(rounds):
                for users in levels:
                    samples = results[users]
                    wall, cpu = await floor_round(telegram, gateway, users)
                    samples.floor.append(wall)
                    samples.floor_cpu.append(cpu)
                    wall, cpu = await bot_round(telegram, process.pid, users, first_user)
                    samples.bot.append(wall)
                    samples.bot_cpu.append(cpu)
                    first_user += users
    return results


def figures(users: int, samples: Samples) -> list[Figure]:
    """One level's rows (medians of its rounds); the targets apply at 200 users."""
    bot_s, floor_s = statistics.median(samples.bot), statistics.median(samples.floor)
    bot_cpu = statistics.median(samples.bot_cpu) / users * 1000
    floor_cpu = statistics.median(samples.floor_cpu) / users * 1000
    judged = users == TARGET_USERS
    wall = Figure(
        ROW,
        f"{users} user{'s' if users != 1 else ''} at once, gateway 2 s",
        bot_s,
        "s",
        floor=floor_s,
        target=f"<= {RATIO_TARGET}x floor" if judged else "",
        ok=(bot_s <= RATIO_TARGET * floor_s) if judged else None,
        note=f"CPU per request: bot process {bot_cpu:.1f} ms, floor process {floor_cpu:.1f} ms",
        details={
            side: [round(x, 3) for x in values]
            for side, values in vars(samples).items()  # bot, floor, bot_cpu, floor_cpu
        },
    )
    if not judged:
        return [wall]
    cpu = Figure(
        ROW,
        f"CPU per request, {users} users at once (bot process; floor process)",
        bot_cpu,
        "ms",
        floor=floor_cpu,
        target=f"<= {CPU_RATIO_TARGET}x floor",
        ok=bot_cpu <= CPU_RATIO_TARGET * floor_cpu,
    )
    return [wall, cpu]


async def run(quick: bool) -> list[Figure]:
    """The concurrency rows."""
    levels, rounds = ((1, 20), 1) if quick else ((1, 50, TARGET_USERS), 3)
    measured = await measure(levels, rounds)
    return [row for users, samples in measured.items() for row in figures(users, samples)]

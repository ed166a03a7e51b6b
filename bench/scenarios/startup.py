"""Start-up: from spawning `python -m bot` to its first `getUpdates` reaching the fake.

That span holds the interpreter's start, the imports (PTB, httpx, aiohttp, Pillow,
pydantic), reading the settings, creating the ledger (a fresh SQLite file, migrations),
`getMe`, `setMyCommands` and `deleteWebhook`; the first long poll is when the bot starts
serving users. Each run uses a fresh temporary directory, as on a first deployment.

Baseline: the floor's `poll` mode spawned the same way, a bare interpreter that sends one
`getUpdates` over a raw socket, i.e. what any Python process pays to reach the same point.

Target: median of 3 runs <= 2 s.
"""

from __future__ import annotations

import statistics

from bench.floor import run_floor
from bench.harness import fakes, floor_command, running_bot
from bench.report import Figure

ROW = "startup"
RUNS = 3
TARGET_S = 2.0


async def bot_startups(runs: int) -> list[float]:
    """Seconds from spawn to the first `getUpdates`, one fresh bot per run."""
    times = []
    for _ in range(runs):
        async with fakes() as (telegram, gateway), running_bot(telegram, gateway) as bot:
            times.append(bot.startup)
    return times


async def floor_startups(runs: int) -> list[float]:
    """Seconds from spawn to the floor's `getUpdates`, one process per run."""
    times = []
    async with fakes() as (telegram, gateway):
        for _ in range(runs):
            polls = len(telegram.poll_arrivals)
            run = await run_floor(floor_command("poll", telegram, gateway))
            times.append(telegram.poll_arrivals[polls] - run.spawned)
    return times


async def run(quick: bool) -> list[Figure]:
    """The start-up row."""
    bot = await bot_startups(RUNS)
    floor = await floor_startups(RUNS)
    median = statistics.median(bot)
    return [
        Figure(
            ROW,
            f"spawn -> first getUpdates, median of {RUNS} (baseline: bare interpreter)",
            median,
            "s",
            floor=statistics.median(floor),
            target=f"<= {TARGET_S:.0f} s",
            ok=median <= TARGET_S,
            details={"bot_s": [round(x, 3) for x in bot], "floor_s": [round(x, 3) for x in floor]},
        )
    ]

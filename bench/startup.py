"""Start-up: from spawning `python -m bot` to its first `getUpdates` reaching the fake.

That span holds the interpreter's start, the imports (PTB, httpx, aiohttp, Pillow,
pydantic), reading the settings, creating the ledger (a fresh SQLite file, migrations),
`getMe`, `setMyCommands` and `deleteWebhook`; the first long poll is when the bot starts
serving users. Each run uses a fresh temporary directory, as on a first deployment.

Baseline: the floor's `poll` mode spawned the same way, a bare interpreter that sends one
`getUpdates` over a raw socket, i.e. what any Python process pays to reach the same point.

Target: median of 3 runs (1 with `--quick`) <= 2 s.
"""

from __future__ import annotations

import statistics

from bench.harness import bot, fakes, floor
from bench.report import Figure

TARGET_S = 2.0


async def run(quick: bool) -> list[Figure]:
    """The start-up row."""
    runs = 1 if quick else 3
    bot_s: list[float] = []
    floor_s: list[float] = []
    for _ in range(runs):
        async with fakes() as (telegram, gateway):
            async with bot(telegram, gateway) as process:
                bot_s.append(process.startup)
            polls = len(telegram.poll_arrivals)
            spawned = (await floor("poll", telegram, gateway)).spawned
            floor_s.append(telegram.poll_arrivals[polls] - spawned)
    median = statistics.median(bot_s)
    return [
        Figure(
            "startup",
            f"spawn -> first getUpdates, median of {runs} (baseline: bare interpreter)",
            median,
            "s",
            floor=statistics.median(floor_s),
            target=f"<= {TARGET_S:.0f} s",
            ok=median <= TARGET_S,
            details={
                "bot_s": [round(x, 3) for x in bot_s],
                "floor_s": [round(x, 3) for x in floor_s],
            },
        )
    ]

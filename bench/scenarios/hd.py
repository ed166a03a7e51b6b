"""HD memory and responsiveness: N users ask for an HD image at once.

N users (1, 10, 20) each send `/hd <prompt>`. The gateway waits 1 s, then answers each with
a markdown link to a 12 MB 3840x2160 PNG; the bot downloads it, checks it, makes a photo
preview and sends the preview and then the original file as a document. Each level runs
in a fresh bot process, so its memory figures belong to that level alone:

* idle RSS: VmRSS one second after start-up, before any request;
* peak RSS: VmHWM (the kernel's exact high-water mark) once all N documents have
  arrived; a 20 ms VmRSS sampler runs alongside as a cross-check (in the details);
* growth per in-flight image: (peak at 20 - peak at 1) / 19, what each extra HD image in
  flight costs. One-time costs (imports, pools, first decode) are in both peaks and cancel.
  Holding the downloaded bytes once is 1x the image; the target allows 2x.

Responsiveness: while the N requests are in flight, other users send `/help`, one probe at
a time (each from a new user, 50 ms apart), from the moment the bot starts downloading the
N images (the gateway's first file hit) until the last document has arrived. That window
is when the bot is busiest: it receives N x 12 MB, decodes N 4K PNGs, scales N previews
and uploads N x 12 MB plus the previews. A probe's time runs from the fake handing out the
`/help` update to the answer's arrival; the figure is the worst probe (a user who asks at
the worst moment), the baseline the median of 5 probes on the same bot while idle.

The fakes serve and receive the same 2 x N x 12 MB on the benchmark's own event loop at
that moment; the note gives how late that loop woke during the worst probe, i.e. how much
of the probe may be the fakes' delay rather than the bot's. The worst probe is noisy: it
falls in the first second of the downloads and moves by +-50 % between runs.

Targets: growth per in-flight image <= 2x the image's size, idle RSS <= 100 MB, /help
answered within 250 ms with 20 HD requests in flight.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

from bench.harness import (
    MB,
    BenchTelegram,
    LoopLag,
    RssSampler,
    fakes,
    hd_image,
    running_bot,
    wait_until,
)
from bench.report import Figure
from tests.fakes import gateway as gw

ROW = "hd"
LEVELS = (1, 10, 20)
QUICK_LEVELS = (1, 6)
TARGET_LEVEL = 20
GATEWAY_DELAY = 1.0
IDLE_SETTLE = 1.0
IDLE_PROBES = 5
PROBE_GAP = 0.05
GROWTH_FACTOR = 2.0
IDLE_RSS_TARGET_MB = 100.0
HELP_TARGET_MS = 250.0
FIRST_USER = 10_000
IDLE_PROBE_USER = 500_000
BUSY_PROBE_USER = 600_000
DELIVERY_TIMEOUT = 180.0


@dataclass
class Level:
    """What one level measured."""

    users: int
    idle_rss_mb: float
    peak_rss_mb: float
    sampled_peak_mb: float
    idle_help_ms: list[float]
    busy_help_ms: list[float]
    load_s: float
    #: How late the benchmark's own loop (the fakes') woke during the worst busy probe.
    fakes_lag_ms: float


@dataclass(frozen=True, slots=True)
class Probe:
    """One /help: handed out at `start`, answered (arrived) at `end`."""

    start: float
    end: float

    @property
    def ms(self) -> float:
        """How long the answer took."""
        return (self.end - self.start) * 1000


async def help_probe(telegram: BenchTelegram, user_id: int) -> Probe:
    """User `user_id` sends /help; from hand-out to the answer's arrival."""
    update = telegram.text_update(user_id, "/help")
    telegram.push_update(update)
    arrival = await telegram.wait_reply("sendMessage", user_id, timeout=30)
    return Probe(telegram.handed_out[update["update_id"]], arrival.at)


async def probe_until(telegram: BenchTelegram, done: asyncio.Task[object]) -> list[Probe]:
    """Probe /help, one at a time, until `done` finishes."""
    probes: list[Probe] = []
    user = BUSY_PROBE_USER
    while not done.done():
        probes.append(await help_probe(telegram, user))
        user += 1
        await asyncio.sleep(PROBE_GAP)
    return probes


async def measure_level(users: int) -> Level:
    """One fresh bot, idle readings, then `users` HD requests at once."""
    chats = set(range(FIRST_USER, FIRST_USER + users))
    async with fakes() as (telegram, gateway):
        gateway.default = gw.markdown(hd_image(), delay=GATEWAY_DELAY)
        async with running_bot(telegram, gateway, max_concurrent=users + 10) as bot:
            await asyncio.sleep(IDLE_SETTLE)
            idle_rss = bot.rss_mb()
            idle = [await help_probe(telegram, IDLE_PROBE_USER + i) for i in range(IDLE_PROBES)]
            async with RssSampler(bot.pid) as sampler, LoopLag() as lag:
                started = time.monotonic()
                updates = [telegram.text_update(uid, f"/hd a castle #{uid}") for uid in chats]
                telegram.push_updates(updates)
                await gateway.wait_for_requests(users, timeout=30)
                downloading = await wait_until(
                    lambda: sum(gateway.file_hits.values()) > 0, GATEWAY_DELAY + 10
                )
                if not downloading:
                    raise RuntimeError(f"the bot never downloaded an HD image:\n{bot.log()}")
                delivered = asyncio.create_task(
                    telegram.wait_sends("sendDocument", chats, timeout=DELIVERY_TIMEOUT)
                )
                try:
                    busy = await probe_until(telegram, delivered)
                finally:
                    await delivered
                load = time.monotonic() - started
            bot.check_alive()
            peak = bot.peak_rss_mb()
    worst = max(busy, key=lambda p: p.ms, default=None)
    return Level(
        users,
        idle_rss,
        peak,
        sampler.peak_mb,
        [p.ms for p in idle],
        [p.ms for p in busy],
        load,
        lag.worst_between(worst.start, worst.end) * 1000 if worst else 0.0,
    )


def _level_details(level: Level) -> dict[str, object]:
    return {
        "users": level.users,
        "idle_rss_mb": round(level.idle_rss_mb, 1),
        "peak_rss_mb (VmHWM)": round(level.peak_rss_mb, 1),
        "sampled_peak_rss_mb": round(level.sampled_peak_mb, 1),
        "load_s": round(level.load_s, 2),
        "idle_help_ms": [round(x, 1) for x in level.idle_help_ms],
        "busy_help_ms": [round(x, 1) for x in level.busy_help_ms],
        "fakes_loop_lag_during_worst_probe_ms": round(level.fakes_lag_ms, 1),
    }


def memory_figures(levels: list[Level], image_mb: float) -> list[Figure]:
    """Idle RSS, peak RSS at each level, growth per in-flight image."""
    idle = max(level.idle_rss_mb for level in levels)
    rows = [
        Figure(
            ROW,
            "idle RSS",
            idle,
            "MB",
            target=f"<= {IDLE_RSS_TARGET_MB:.0f} MB",
            ok=idle <= IDLE_RSS_TARGET_MB,
        )
    ]
    rows += [
        Figure(
            ROW,
            f"peak RSS, {level.users} HD in flight (baseline: idle)",
            level.peak_rss_mb,
            "MB",
            floor=level.idle_rss_mb,
            details=_level_details(level),
        )
        for level in levels
    ]
    low, high = levels[0], levels[-1]
    growth = (high.peak_rss_mb - low.peak_rss_mb) / (high.users - low.users)
    judged = (low.users, high.users) == (1, TARGET_LEVEL)
    rows.append(
        Figure(
            ROW,
            f"RSS growth per in-flight HD image ({low.users}->{high.users}; baseline: image)",
            growth,
            "MB",
            floor=image_mb,
            target=f"<= {GROWTH_FACTOR:.0f}x image ({GROWTH_FACTOR * image_mb:.1f} MB)",
            ok=growth <= GROWTH_FACTOR * image_mb if judged else None,
            note="" if judged else f"judged only over 1->{TARGET_LEVEL} (the full run)",
        )
    )
    return rows


def help_figures(levels: list[Level]) -> list[Figure]:
    """Worst /help while N HD requests are in flight, next to the idle /help."""
    rows = []
    for level in levels:
        judged = level.users == TARGET_LEVEL
        busy = level.busy_help_ms
        rows.append(
            Figure(
                ROW,
                f"/help with {level.users} HD in flight, worst of {len(busy)} (baseline: idle)",
                max(busy) if busy else None,
                "ms",
                floor=statistics.median(level.idle_help_ms),
                target=f"<= {HELP_TARGET_MS:.0f} ms" if judged else "",
                ok=(max(busy) <= HELP_TARGET_MS) if judged and busy else None,
                note=(
                    f"the fakes' own event loop lagged up to {level.fakes_lag_ms:.0f} ms "
                    "during the worst probe"
                    if busy
                    else "the load ended before a probe could be sent"
                ),
            )
        )
    return rows


async def run(quick: bool) -> list[Figure]:
    """The HD rows."""
    levels = [await measure_level(users) for users in (QUICK_LEVELS if quick else LEVELS)]
    image_mb = len(hd_image()) / MB
    return memory_figures(levels, image_mb) + help_figures(levels)

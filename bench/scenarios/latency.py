"""Added latency: what the bot adds to one request when nothing else is going on.

The gateway answers at once with a markdown link to a ~1 MB 1024x1024 PNG (a standard
result). One user sends 200 texts, one after the other: each is pushed when the previous
photo has arrived (and a 10 ms pause has passed). A request's latency runs from the fake
handing the update out (`getUpdates` answer) to the fake having read the whole `sendPhoto`
upload. Because the gateway takes no time, that is purely the bot's own cost: PTB's update
handling, the ledger, the gateway call, the image download and check, the upload.

The floor does the same HTTP calls in the same order on keep-alive connections (see
`bench.floor`), timed from its first byte to the same `sendPhoto` arrival. Bot and floor
run in alternating blocks so that a drift of the machine's speed hits both alike.

The note splits the medians at the gateway request's arrival (the fake gateway records it),
and gives each process's CPU time per request, which the shared fakes cannot blur.

Targets: p50 bot/floor <= 1.5 and bot p50 <= 25 ms. The p95 is reported for context.

`measure` and `figures` also serve the webhook row (`bench.scenarios.webhook`), which runs
the same measurement with the bot in webhook mode.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass, field

from bench.floor import PROMPT as FLOOR_PROMPT
from bench.floor import run_floor
from bench.harness import (
    BenchTelegram,
    Webhook,
    fakes,
    floor_command,
    percentile,
    running_bot,
    standard_image,
)
from bench.report import Figure
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway

ROW = "latency"
USER_ID = 1001
PROMPT = "a lighthouse at dusk"
FLOOR_CHATS = 700_000_000
WARMUP = 5
GAP = 0.01
RATIO_TARGET = 1.5
P50_TARGET_MS = 25.0


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: when it started, reached the gateway, and its photo arrived."""

    start: float
    gateway: float
    photo: float

    @property
    def total_ms(self) -> float:
        """The request's latency."""
        return (self.photo - self.start) * 1000


@dataclass(frozen=True, slots=True)
class _Pending:
    prompt: str
    start: float
    photo: float


def _resolve(pending: list[_Pending], gateway: FakeGateway) -> list[Sample]:
    """Attach to each request the arrival of its gateway call (matched by prompt)."""
    arrived = {request.prompt: request.at for request in gateway.requests}
    return [Sample(p.start, arrived[p.prompt], p.photo) for p in pending]


async def bot_block(
    telegram: BenchTelegram, count: int, first: int, webhook: bool = False
) -> list[_Pending]:
    """`count` sequential requests to the bot.

    Each starts when the fake hands its update out (`getUpdates`), or in webhook mode when
    the fake starts delivering it to the webhook.
    """
    starts = telegram.delivered if webhook else telegram.handed_out
    done = []
    for i in range(first, first + count):
        prompt = f"{PROMPT} #{i}"
        update = telegram.text_update(USER_ID, prompt)
        telegram.push_update(update)
        message_id = update["message"]["message_id"]
        try:
            arrival = await telegram.wait_reply("sendPhoto", USER_ID, message_id)
        except TimeoutError as exc:
            if not webhook:
                raise
            statuses = telegram.webhook_deliveries[-5:]
            raise TimeoutError(f"{exc}; last webhook delivery statuses: {statuses}") from None
        done.append(_Pending(prompt, starts[update["update_id"]], arrival.at))
        await asyncio.sleep(GAP)
    return done


async def floor_block(
    telegram: BenchTelegram, gateway: FakeGateway, count: int, first: int
) -> tuple[list[_Pending], float]:
    """`count` sequential requests by the floor; and the CPU seconds they took it."""
    args = floor_command(
        "sequential", telegram, gateway, count=count, chat_base=FLOOR_CHATS + first, gap=GAP
    )
    run = await run_floor(args)
    done = []
    for chat, started in run.result["starts"].items():
        arrival = telegram.arrival_of("sendPhoto", int(chat))
        assert arrival is not None, f"the floor's photo to {chat} never arrived"
        done.append(_Pending(f"{FLOOR_PROMPT} #{chat}", started, arrival.at))
    return done, float(run.result["cpu_s"])


@dataclass
class Measured:
    """Both sides' samples, and the CPU time each process spent on them."""

    bot: list[Sample]
    floor: list[Sample]
    bot_cpu_s: float
    floor_cpu_s: float
    #: Webhook mode: ms from each delivery's start to the bot's answer to the POST.
    webhook_answered_ms: list[float] = field(default_factory=list)

    def cpu_note(self) -> str:
        """CPU time per request of each process (the shared fakes are not in it)."""
        bot = self.bot_cpu_s / len(self.bot) * 1000
        floor = self.floor_cpu_s / len(self.floor) * 1000
        return f"CPU per request: bot process {bot:.1f} ms, floor process {floor:.1f} ms"


async def measure(count: int, blocks: int, webhook: Webhook | None = None) -> Measured:
    """Bot and floor samples, `count` requests each, in `blocks` alternating blocks.

    The bot long-polls, or serves webhooks with `webhook`.
    """
    hooked = webhook is not None
    async with (
        fakes() as (telegram, gateway),
        running_bot(telegram, gateway, webhook=webhook) as process,
    ):
        gateway.default = gw.markdown(standard_image())
        await bot_block(telegram, WARMUP, -WARMUP, hooked)
        warmup = set(telegram.delivered)
        await floor_block(telegram, gateway, WARMUP, count)
        bot: list[_Pending] = []
        floor: list[_Pending] = []
        bot_cpu = floor_cpu = 0.0
        size = count // blocks
        for block in range(blocks):
            floor_samples, cpu = await floor_block(telegram, gateway, size, block * size)
            floor += floor_samples
            floor_cpu += cpu
            cpu_before = process.cpu_seconds()
            bot += await bot_block(telegram, size, block * size, hooked)
            bot_cpu += process.cpu_seconds() - cpu_before
        measured = Measured(_resolve(bot, gateway), _resolve(floor, gateway), bot_cpu, floor_cpu)
        if hooked:
            await telegram.drain_webhook()
            measured.webhook_answered_ms = [
                (telegram.webhook_answered[update_id] - started) * 1000
                for update_id, started in telegram.delivered.items()
                if update_id not in warmup and update_id in telegram.webhook_answered
            ]
        return measured


def _stages(samples: list[Sample]) -> tuple[float, float]:
    """Median ms from start to the gateway request, and from there to the photo."""
    to_gateway = statistics.median((s.gateway - s.start) * 1000 for s in samples)
    to_photo = statistics.median((s.photo - s.gateway) * 1000 for s in samples)
    return to_gateway, to_photo


def _stage_note(bot: list[Sample], floor: list[Sample], start: str) -> str:
    bot_a, bot_b = _stages(bot)
    floor_a, floor_b = _stages(floor)
    return (
        f"median stages: {start} -> gateway request {bot_a:.1f} ms (floor: start -> "
        f"gateway request {floor_a:.1f} ms); gateway request -> photo arrived {bot_b:.1f} ms "
        f"(floor {floor_b:.1f} ms)"
    )


def counts(quick: bool) -> tuple[int, int]:
    """Requests per side, and the alternating blocks they are run in."""
    return (40, 2) if quick else (200, 4)


def figures(
    row: str, title: str, measured: Measured, start: str, extra_note: str = ""
) -> list[Figure]:
    """The p50 (against the floor and absolute) and p95 figures of a measurement.

    `title` names the figures ("added latency"), `start` the bot's start point in the note.
    """
    bot, floor = measured.bot, measured.floor
    ms = [s.total_ms for s in bot]
    floor_ms = [s.total_ms for s in floor]
    bot50, floor50 = percentile(ms, 50), percentile(floor_ms, 50)
    details = {
        "requests": len(ms),
        "image_bytes": len(standard_image()),
        "stages_ms": {"bot": _stages(bot), "floor": _stages(floor)},
        "cpu_s": {"bot": measured.bot_cpu_s, "floor": measured.floor_cpu_s},
        "bot_ms": [round(x, 2) for x in ms],
        "floor_ms": [round(x, 2) for x in floor_ms],
    }
    if measured.webhook_answered_ms:
        details["webhook_answered_ms"] = [round(x, 2) for x in measured.webhook_answered_ms]
    note = f"{_stage_note(bot, floor, start)}; {measured.cpu_note()}"
    return [
        Figure(
            row,
            f"{title} p50 ({len(ms)} sequential, 1 MB image)",
            bot50,
            "ms",
            floor=floor50,
            target=f"<= {RATIO_TARGET}x floor",
            ok=bot50 <= RATIO_TARGET * floor50,
            note=f"{note}; {extra_note}" if extra_note else note,
            details=details,
        ),
        Figure(
            row,
            f"{title} p50, absolute",
            bot50,
            "ms",
            target=f"<= {P50_TARGET_MS:.0f} ms",
            ok=bot50 <= P50_TARGET_MS,
        ),
        Figure(
            row,
            f"{title} p95",
            percentile(ms, 95),
            "ms",
            floor=percentile(floor_ms, 95),
        ),
    ]


async def run(quick: bool) -> list[Figure]:
    """The added-latency rows (long polling)."""
    measured = await measure(*counts(quick))
    return figures(ROW, "added latency", measured, "update handed out")

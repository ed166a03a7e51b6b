"""Added latency and CPU per request: what the bot adds to one request, polling or webhook.

The gateway answers at once with a markdown link to a ~1 MB 1024x1024 PNG (a standard
result). One user sends 200 texts (20 with `--quick`) one after the other, each pushed once
the previous photo has arrived and 10 ms have passed, after 5 warm-up ones. A request's
latency runs from the fake handing its update out (`getUpdates` answer; in webhook mode:
the fake starting the POST to the bot's webhook) to the fake having read the whole
`sendPhoto` upload. The gateway takes no time, so that is the bot's own cost: PTB's update
handling, the ledger, the gateway call, the image download and check, the upload.

The floor (`bench.floor sequential`) does the same HTTP calls in the same order on
keep-alive connections, timed from its first byte to the same `sendPhoto` arrival; bot and
floor run in alternating blocks, so a drift of the machine's speed hits both alike. The
note splits the medians at the gateway request's arrival. CPU per request is each
process's own CPU time over its requests (the bot's from /proc), a figure the shared fakes
cannot blur.

Webhook mode: the bot gets `WEBHOOK_URL` (a free port on 127.0.0.1) and a secret, so it
calls `setWebhook` and serves with its own aiohttp server (`bot.tg.webhook`); the fake POSTs
each update with the secret header on a keep-alive connection. The note adds when the bot
answered the POST.

Targets (both modes): p50 bot/floor <= 1.5 and bot p50 <= 25 ms. p95 and CPU: context.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass, field

from bench.floor import PROMPT as FLOOR_PROMPT
from bench.harness import (
    BenchTelegram,
    bot,
    cpu_seconds,
    fakes,
    floor,
    percentile,
    standard_image,
)
from bench.report import Figure
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway

USER_ID = 1001
PROMPT = "a lighthouse at dusk"
FLOOR_CHATS = 700_000_000
WARMUP = 5
GAP = 0.01
RATIO_TARGET = 1.5
P50_TARGET_MS = 25.0


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: its prompt, when it started, and when its photo arrived."""

    prompt: str
    start: float
    photo: float


@dataclass
class Measured:
    """Both sides' samples, the CPU seconds each process spent, the gateway's arrivals."""

    bot: list[Sample] = field(default_factory=list)
    floor: list[Sample] = field(default_factory=list)
    bot_cpu_s: float = 0.0
    floor_cpu_s: float = 0.0
    gateway_at: dict[str, float] = field(default_factory=dict)  # by prompt
    #: Webhook mode: ms from each delivery's start to the bot's answer to the POST.
    answered_ms: list[float] = field(default_factory=list)

    def ms(self, side: list[Sample]) -> list[float]:
        """Each request's latency."""
        return [(s.photo - s.start) * 1000 for s in side]

    def stages(self, side: list[Sample]) -> tuple[float, float]:
        """Median ms from start to the gateway request, and from there to the photo."""
        at = self.gateway_at
        return (
            statistics.median((at[s.prompt] - s.start) * 1000 for s in side),
            statistics.median((s.photo - at[s.prompt]) * 1000 for s in side),
        )


async def bot_block(telegram: BenchTelegram, count: int, first: int, webhook: bool) -> list[Sample]:
    """`count` sequential requests to the bot."""
    starts = telegram.delivered if webhook else telegram.handed_out
    done = []
    for i in range(first, first + count):
        prompt = f"{PROMPT} #{i}"
        update = telegram.push_update(telegram.text_update(USER_ID, prompt))
        try:
            arrival = await telegram.wait_reply(
                "sendPhoto", USER_ID, update["message"]["message_id"]
            )
        except AssertionError as exc:
            statuses = telegram.webhook_deliveries[-5:]
            raise AssertionError(f"{exc}; last webhook deliveries: {statuses}") from None
        done.append(Sample(prompt, starts[update["update_id"]], arrival.at))
        await asyncio.sleep(GAP)
    return done


async def floor_block(
    telegram: BenchTelegram, gateway: FakeGateway, count: int, first: int
) -> tuple[list[Sample], float]:
    """`count` sequential requests by the floor; and the CPU seconds they took it."""
    run = await floor(
        "sequential", telegram, gateway, count=count, chat_base=FLOOR_CHATS + first, gap=GAP
    )
    done = []
    for chat, started in run.result["starts"].items():
        arrival = telegram.arrival_of("sendPhoto", int(chat))
        assert arrival is not None, f"the floor's photo to {chat} never arrived"
        done.append(Sample(f"{FLOOR_PROMPT} #{chat}", started, arrival.at))
    return done, float(run.result["cpu_s"])


async def measure(count: int, blocks: int, webhook: bool) -> Measured:
    """Bot and floor, `count` requests each, in `blocks` alternating blocks."""
    async with fakes() as (telegram, gateway), bot(telegram, gateway, webhook=webhook) as process:
        gateway.default = gw.markdown(standard_image())
        await bot_block(telegram, WARMUP, -WARMUP, webhook)
        warmup = set(telegram.delivered)
        await floor_block(telegram, gateway, WARMUP, count)
        measured = Measured()
        size = count // blocks
        for block in range(blocks):
            samples, cpu = await floor_block(telegram, gateway, size, block * size)
            measured.floor += samples
            measured.floor_cpu_s += cpu
            before = cpu_seconds(process.pid)
            measured.bot += await bot_block(telegram, size, block * size, webhook)
            measured.bot_cpu_s += cpu_seconds(process.pid) - before
        measured.gateway_at = {request.prompt: request.at for request in gateway.requests}
        if webhook:
            await telegram.drain_webhook()
            answered = telegram.webhook_answered
            measured.answered_ms = [
                (answered[update_id] - started) * 1000
                for update_id, started in telegram.delivered.items()
                if update_id not in warmup and update_id in answered
            ]
        return measured


def figures(row: str, measured: Measured) -> list[Figure]:
    """p50 against the floor and absolute, p95, CPU per request."""
    title = "added latency" + (" (webhook)" if row == "webhook" else "")
    start = "update delivered" if row == "webhook" else "update handed out"
    ms, floor_ms = measured.ms(measured.bot), measured.ms(measured.floor)
    bot50, floor50 = percentile(ms, 50), percentile(floor_ms, 50)
    (bot_a, bot_b), (floor_a, floor_b) = (
        measured.stages(measured.bot),
        measured.stages(measured.floor),
    )
    note = (
        f"median stages: {start} -> gateway request {bot_a:.1f} ms (floor: start -> gateway "
        f"request {floor_a:.1f} ms); gateway request -> photo arrived {bot_b:.1f} ms "
        f"(floor {floor_b:.1f} ms)"
    )
    if measured.answered_ms:
        note += (
            f"; webhook POST answered {statistics.median(measured.answered_ms):.1f} ms "
            "after delivery started"
        )
    details = {
        "requests": len(ms),
        "bot_ms": [round(x, 2) for x in ms],
        "floor_ms": [round(x, 2) for x in floor_ms],
        "webhook_answered_ms": [round(x, 2) for x in measured.answered_ms],
    }
    return [
        Figure(
            row,
            f"{title} p50 ({len(ms)} sequential, 1 MB image)",
            bot50,
            "ms",
            floor=floor50,
            target=f"<= {RATIO_TARGET}x floor",
            ok=bot50 <= RATIO_TARGET * floor50,
            note=note,
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
        Figure(row, f"{title} p95", percentile(ms, 95), "ms", floor=percentile(floor_ms, 95)),
        Figure(
            row,
            "CPU per request (bot process; floor process)",
            measured.bot_cpu_s / len(ms) * 1000,
            "ms",
            floor=measured.floor_cpu_s / len(floor_ms) * 1000,
        ),
    ]


async def polling(quick: bool) -> list[Figure]:
    """The `latency` rows: the bot long-polls."""
    return figures("latency", await measure(*((20, 2) if quick else (200, 4)), webhook=False))


async def webhook(quick: bool) -> list[Figure]:
    """The `webhook` rows: the bot serves webhooks."""
    return figures("webhook", await measure(*((20, 2) if quick else (200, 4)), webhook=True))

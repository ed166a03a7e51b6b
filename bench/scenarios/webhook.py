"""Added latency (webhook): the `latency` row with the bot in webhook mode.

The bot starts with `WEBHOOK_URL=http://127.0.0.1:<free port>/bench-webhook`,
`WEBHOOK_LISTEN=127.0.0.1`, `WEBHOOK_PORT=<that port>` and a `WEBHOOK_SECRET` (SPEC
section 4), so PTB calls `setWebhook` on the fake and serves webhooks with its tornado
server. It is ready when the fake has answered that `setWebhook` (and the port accepts
connections: PTB listens only after the call), instead of at its first `getUpdates`.

The fake POSTs each pushed update to the webhook with the secret-token header, on a
keep-alive connection (aiohttp). A request's latency runs from the fake starting that
delivery (`BenchTelegram.delivered`, the analogue of `handed_out`) to the fake having read
the whole `sendPhoto` upload. Everything else is the `latency` row's (`measure`): the
gateway answers at once with a ~1 MB 1024x1024 PNG, 200 sequential requests (40 with
`--quick`) after 5 warm-up ones, the floor (`bench.floor sequential`, which has no update
intake at all) measured in the same run in alternating blocks.

The note gives the same stage split and CPU per request as the `latency` row, so that the
two rows compare directly, plus the median time the bot took to answer the webhook POST.

Targets: p50 bot/floor <= 1.5 and bot p50 <= 25 ms. The p95 is reported for context.
"""

from __future__ import annotations

import statistics

from bench.harness import Webhook
from bench.report import Figure
from bench.scenarios.latency import counts, figures, measure

ROW = "webhook"


async def run(quick: bool) -> list[Figure]:
    """The added-latency rows, webhook mode."""
    measured = await measure(*counts(quick), webhook=Webhook.on_free_port())
    answered = measured.webhook_answered_ms
    extra = (
        f"webhook POST answered {statistics.median(answered):.1f} ms after delivery started"
        if answered
        else ""
    )
    return figures(ROW, "added latency (webhook)", measured, "update delivered", extra)

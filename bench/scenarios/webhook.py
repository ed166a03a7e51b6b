"""PLACEHOLDER, not implemented: the "added latency (webhook)" row.

The row belongs next to `latency`, for the bot in webhook mode (`WEBHOOK_URL`,
`WEBHOOK_LISTEN`, `WEBHOOK_PORT`, `WEBHOOK_SECRET`; SPEC section 4). To write it:

* start the bot with `WEBHOOK_URL=http://127.0.0.1:<free port>/<path>`,
  `WEBHOOK_LISTEN=127.0.0.1`, `WEBHOOK_PORT=<that port>`, a `WEBHOOK_SECRET`, and wait
  for its `setWebhook` call on the fake instead of the first `getUpdates`
  (`BotProcess.start` waits for the latter today);
* `FakeTelegram` already implements `setWebhook` and POSTs each pushed update to the
  webhook URL with the secret-token header; stamp when that POST leaves the fake
  (subclass `_deliver`, as `BenchTelegram` stamps `getUpdates` answers) and time to the
  `sendPhoto` arrival;
* same gateway (answers at once, ~1 MB PNG), same 200 sequential requests, same floor
  (`bench.floor sequential`), same targets: p50 <= 1.5x floor and <= 25 ms.

Until then the row is reported as n/a so that its place in the table stays visible.
"""

from __future__ import annotations

from bench.report import Figure, not_measured

ROW = "webhook"


async def run(quick: bool) -> list[Figure]:
    """The placeholder row."""
    return [
        not_measured(
            ROW,
            "added latency (webhook) p50",
            "ms",
            "<= 1.5x floor, <= 25 ms",
            "placeholder, not implemented yet (see bench/scenarios/webhook.py)",
        )
    ]

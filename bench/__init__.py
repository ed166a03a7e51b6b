"""The benchmark suite of flash-image-bot: `python -m bench` (or `python bench/run.py`).

The benchmark process starts the fake Bot API server (`tests.fakes.telegram.FakeTelegram`)
and the fake image gateway (`tests.fakes.gateway.FakeGateway`), runs the real bot as a
subprocess (`python -m bot`, configured through its environment) against them, and measures
what users feel: added latency, behaviour under concurrency, memory and responsiveness with
HD images, start-up time and album merging.

Every timed figure is measured side by side, in the same run, with a baseline:

* the *floor* (`bench.floor`): a tiny client in its own process that makes the same HTTP
  calls the bot makes for one request (gateway POST, image GET, multipart `sendPhoto`) over
  raw asyncio streams, with no HTTP library and no bot framework. It is the least the work
  can cost on this machine, fakes included, so the ratio bot/floor stays meaningful on a
  slow or noisy machine;
* for figures where such a client makes no sense, another in-run baseline (an idle bot's
  `/help`, a bare interpreter reaching the fake) or the image's own size.

Layout: `run` (command line, table, JSON), `harness` (fakes with timing records, the bot
subprocess, memory readings), `report` (figures and their rendering), `floor`,
`concurrency` (also a standalone command), `scenarios/*` (one module per row group) and
`transport` (the plain-httpx vs aiohttp-transport evidence for the Bot API client).
"""

"""The benchmark suite of flash-image-bot: `python -m bench [--quick] [--only ROW]`.

The benchmark process starts the fake Bot API server and the fake image gateway, runs the
real bot as a subprocess against them (`tests.support.process`, the runner the reliability
tests use) and measures what users feel: added latency, concurrency, memory and
responsiveness with HD images, start-up, album merging, webhook mode, CPU per request.

Every timed figure is measured beside a baseline taken in the same run: mostly the *floor*
(`bench.floor`), a tiny client in its own process that makes the same HTTP calls the bot
makes for one request over raw asyncio streams, the least the work can cost on this
machine, fakes included; else an idle bot's `/help`, a bare interpreter, the image's size.

Layout: `__main__` (command line, rows), `harness` (fakes with timing stamps, the bot, the
floor, /proc readings), `report` (figures, table, JSON), `floor`, one module per row group:
`latency` (also webhook), `concurrency`, `hd`, `startup`, `album`.
"""

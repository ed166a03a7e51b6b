"""Plain httpx or the aiohttp transport for the Bot API client? Measure, then choose.

    python -m bench.transport [--calls 200] [--rounds 3]

`bot.app` gives PTB's `HTTPXRequest` an httpx transport backed by aiohttp
(`bot.http.transport`), because httpx's own connection pool is said to serialise under
hundreds of concurrent requests. This script checks that claim on this machine: a PTB
`Bot` fires `--calls` concurrent `send_photo` calls at a `FakeTelegram`, once with
`HTTPXRequest(...)` as is (httpx's pool) and once with
`httpx_kwargs={"transport": bot.http.transport(256, url)}`; everything else is the bot's own
request settings (`bot.app`: 256 connections and its timeouts). Rounds alternate the two
variants and the medians are printed, for a tiny photo (connection handling dominates) and
for a ~1 MB photo (a standard result; bytes dominate).

The fake runs in a child process (`--serve`), so its work does not share the client's
event loop and the timings are the client's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # `python bench/transport.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Bot
from telegram.request import HTTPXRequest

from bench.harness import REPO_ROOT, TOKEN, child_env, standard_image, terminate
from bot.app import sending_request
from tests.fakes.images import png
from tests.fakes.telegram import FakeTelegram

VARIANTS = ("plain httpx", "aiohttp transport")
FIRST_CHAT = 10_000


def make_request(variant: str, url: str) -> HTTPXRequest:
    """The bot's own Bot API request settings for `url`, with or without aiohttp."""
    return sending_request(url, aiohttp=variant == "aiohttp transport")


async def burst(url: str, variant: str, image: bytes, calls: int) -> float:
    """Seconds for `calls` concurrent `send_photo` calls through a fresh `Bot`."""
    bot = Bot(
        TOKEN,
        base_url=f"{url}/bot",
        base_file_url=f"{url}/file/bot",
        request=make_request(variant, url),
    )
    async with bot:
        await bot.send_photo(1, image)  # a warm connection, the fake's probe of this image
        started = time.perf_counter()
        await asyncio.gather(*(bot.send_photo(FIRST_CHAT + i, image) for i in range(calls)))
        return time.perf_counter() - started


async def serve() -> None:
    """The child process: a FakeTelegram until stdin closes; its URL on stdout."""
    async with FakeTelegram(token=TOKEN) as fake:
        print(fake.url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def compare(calls: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Timings per image and variant, with the fake in a child process."""
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.transport",
        "--serve",
        cwd=REPO_ROOT,
        env=child_env(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        url = (await asyncio.wait_for(server.stdout.readline(), 30)).decode().strip()
        images = {"64 px PNG": png(64, 64), "1 MB PNG": standard_image()}
        results: dict[str, dict[str, list[float]]] = {}
        for name, image in images.items():
            results[name] = {variant: [] for variant in VARIANTS}
            for _ in range(rounds):
                for variant in VARIANTS:
                    results[name][variant].append(await burst(url, variant, image, calls))
        return results
    finally:
        if server.stdin is not None:
            server.stdin.close()
        await terminate(server)


def report(results: dict[str, dict[str, list[float]]], calls: int, rounds: int) -> str:
    """The medians as lines of text."""
    lines = [f"{calls} concurrent PTB send_photo calls, medians of {rounds} rounds:"]
    for name, timings in results.items():
        plain, aiohttp = (statistics.median(timings[v]) for v in VARIANTS)
        lines.append(
            f"  {name:10s}  plain httpx {plain:.3f} s   aiohttp transport {aiohttp:.3f} s   "
            f"plain/aiohttp {plain / aiohttp:.2f}x"
        )
        lines += [f"      {v}: {', '.join(f'{t:.3f}' for t in timings[v])}" for v in VARIANTS]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Compare the two transports and print the result."""
    parser = argparse.ArgumentParser(prog="python -m bench.transport", description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve())
        return 0
    print(report(asyncio.run(compare(args.calls, args.rounds)), args.calls, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())

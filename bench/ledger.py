"""Ledger throughput: quota reservations and settlements with many users at once.

    python bench/ledger.py [--users 50] [--rounds 40]

Each of `--users` coroutines runs `--rounds` cycles of what every image request does to the
ledger: read the user's settings, reserve (one atomic INSERT … SELECT), settle as ok. The
floor runs the very same SQL statements on the same kind of file with plain `sqlite3`,
one thread, no asyncio: what SQLite itself costs on this machine. The ratio is what
aiosqlite's thread hop and our code add.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.ledger.store import Ledger, NewRequest, utc_now

from bot.domain import Status

DAY = "2026-11-24"


def request(user_id: int) -> NewRequest:
    return NewRequest(
        user_id=user_id,
        username=f"user{user_id}",
        chat_id=user_id,
        chat_type="private",
        kind="generate",
        model="gemini-2.5-flash-image",
        hd=False,
        prompt="a corgi astronaut, watercolor",
        quota_day=DAY,
    )


async def run_ledger(path: Path, users: int, rounds: int) -> tuple[float, list[float]]:
    """Wall time and per-cycle latencies through `Ledger`."""
    ledger = await Ledger.open(path)
    latencies: list[float] = []

    async def user(user_id: int) -> None:
        for _ in range(rounds):
            started = time.perf_counter()
            await ledger.user_settings(user_id)
            request_id = await ledger.reserve(request(user_id), 1, rounds + 1)
            assert request_id is not None
            await ledger.settle(request_id, Status.OK, cost=0.028, images=1, latency_ms=1)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(user(u) for u in range(1, users + 1)))
    wall = time.perf_counter() - started
    await ledger.close()
    return wall, latencies


def run_floor(path: Path, users: int, rounds: int) -> float:
    """The same statements through plain sqlite3, sequentially."""
    asyncio.run(_create(path))
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    for _ in range(rounds):
        for user_id in range(1, users + 1):
            db.execute(
                "SELECT quota_limit, quota_unlimited, banned FROM users WHERE user_id = ?",
                (user_id,),
            ).fetchone()
            cursor = db.execute(
                "INSERT INTO requests (user_id, username, chat_id, chat_type, kind, model, hd,"
                " input_images, prompt, aspect_ratio, inputs, status, units, quota_day,"
                " created_at) SELECT ?, ?, ?, 'private', 'generate', 'm', 0, 0, ?, NULL, NULL,"
                " 'reserved', 1, ?, ? WHERE (SELECT COALESCE(SUM(units), 0) FROM requests"
                " WHERE user_id = ? AND quota_day = ? AND status IN ('ok', 'reserved')) + 1 <= ?",
                (user_id, f"user{user_id}", user_id, "p", DAY, utc_now(), user_id, DAY, rounds + 1),
            )
            db.execute(
                "UPDATE requests SET status = 'ok', error = NULL, units = units,"
                " prompt_tokens = NULL, completion_tokens = NULL, total_tokens = NULL,"
                " cost = 0.028, images = 1, latency_ms = 1, finished_at = ?"
                " WHERE id = ? AND status = 'reserved'",
                (utc_now(), cursor.lastrowid),
            )
    wall = time.perf_counter() - started
    db.close()
    return wall


async def _create(path: Path) -> None:
    await (await Ledger.open(path)).close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args(argv)
    cycles = args.users * args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        floor = run_floor(Path(tmp) / "floor.sqlite3", args.users, args.rounds)
        wall, latencies = asyncio.run(
            run_ledger(Path(tmp) / "bot.sqlite3", args.users, args.rounds)
        )
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[int(len(latencies) * 0.95) - 1] * 1000
    print(f"ledger: {args.users} concurrent users x {args.rounds} (read settings, reserve, settle)")
    print(f"  bot ledger : {cycles / wall:8.0f} requests/s  ({wall:.2f} s for {cycles})")
    print(f"  p50 / p95  : {p50:8.2f} / {p95:.2f} ms per request under that load")
    print(f"  floor      : {cycles / floor:8.0f} requests/s  (same SQL, plain sqlite3, one thread)")
    print(f"  ratio      : {wall / floor:8.2f} x the floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run the benchmark suite: `python -m bench` (or `python bench/run.py`).

Rows (names for `--only`), each measured next to an in-run baseline:

* `latency`      added latency of one request, p50/p95 over 200 sequential requests
* `concurrency`  wall time of 1, 50 and 200 users at once with a 2 s gateway
* `hd`           idle/peak RSS and /help responsiveness with 1, 10 and 20 HD images
* `startup`      spawn to first getUpdates
* `album`        last album part to the merge request
* `webhook`      the `latency` row with the bot in webhook mode (setWebhook, tornado server)

Options: `--only ROW[,ROW]`, `--quick` (smaller N, well under a minute), `--json PATH`
(write the results there instead of bench/results/<timestamp>.json + latest.json).

Exit status: 0 when every target is met, 1 when one is missed, 2 when a row failed to run,
130 when interrupted (the bot is stopped and temporary files removed in every case).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import concurrency
from bench.report import Figure, document, not_measured, render, summary, write
from bench.scenarios import album, hd, latency, startup, webhook

Runner = Callable[[bool], Awaitable[list[Figure]]]

ROWS: dict[str, Runner] = {
    "latency": latency.run,
    "concurrency": concurrency.run,
    "hd": hd.run,
    "startup": startup.run,
    "album": album.run,
    "webhook": webhook.run,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only", metavar="ROW[,ROW]", help=f"run only these rows: {', '.join(ROWS)}"
    )
    parser.add_argument("--quick", action="store_true", help="smaller N, for a smoke run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="where to write the results")
    args = parser.parse_args(argv)
    args.rows = _rows(parser, args.only)
    return args


def _rows(parser: argparse.ArgumentParser, only: str | None) -> list[str]:
    if not only:
        return list(ROWS)
    rows = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in rows if name not in ROWS]
    if unknown or not rows:
        parser.error(f"unknown row(s) {', '.join(unknown) or '(none)'}; known: {', '.join(ROWS)}")
    return rows


async def run_row(name: str, quick: bool) -> tuple[list[Figure], bool]:
    """One row's figures, and whether it ran; a failure becomes an n/a figure."""
    started = time.monotonic()
    print(f"[bench] {name} ...", file=sys.stderr, flush=True)
    try:
        figures = await ROWS[name](quick)
    except Exception as exc:  # noqa: BLE001 - one broken row must not hide the others
        traceback.print_exc(file=sys.stderr)
        reason = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return [not_measured(name, "(row failed to run)", "", "", reason)], False
    print(f"[bench] {name} done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return figures, True


async def run_rows(rows: Sequence[str], quick: bool) -> tuple[list[Figure], bool]:
    """Every requested row, in order; whether all of them ran."""
    figures: list[Figure] = []
    all_ran = True
    for name in rows:
        row_figures, ran = await run_row(name, quick)
        figures += row_figures
        all_ran = all_ran and ran
    return figures, all_ran


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print the table, save the JSON; the exit status."""
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    started = time.monotonic()
    try:
        figures, all_ran = asyncio.run(run_rows(args.rows, args.quick))
    except KeyboardInterrupt:
        print("\ninterrupted; the bot and its temporary files were cleaned up", file=sys.stderr)
        return 130
    seconds = time.monotonic() - started
    options = {"rows": args.rows, "quick": args.quick}
    paths = write(document(figures, started_at, seconds, options), args.json, started_at)
    mode = "quick" if args.quick else "full"
    print(f"\nflash-image-bot benchmark ({mode} run, {seconds:.0f} s)\n")
    print(render(figures))
    print(f"\n{summary(figures)}")
    print(f"results: {', '.join(str(p) for p in paths)}")
    if not all_ran:
        return 2
    return 0 if all(f.ok is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())

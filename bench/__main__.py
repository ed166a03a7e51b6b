"""`python -m bench`: run the benchmark rows, print the table, save the JSON.

Rows (names for `--only`), each measured next to a baseline taken in the same run:

* `latency`      added latency of one request, p50/p95 over 200 sequential requests, and
                 CPU per request (long polling)
* `concurrency`  wall time of 1, 50 and 200 users at once with a 2 s gateway, and CPU per
                 request at 200
* `hd`           idle/peak RSS, RSS per HD image, /help latency with 1, 10 and 20 HD images
* `input`        peak RSS of one 19 MB photo edited, against its own size
* `startup`      spawn to first getUpdates
* `album`        last album part to the merge request
* `webhook`      the `latency` row with the bot in webhook mode

`--quick` runs every row once at small sizes (well under a minute), for CI: a report only,
so its exit status ignores the targets. `--json PATH` writes the results there instead of
bench/results/<timestamp>.json and latest.json. `--bot PATH` runs the `bot` package of
another checkout (e.g. `git worktree add /tmp/before <commit>`) against this benchmark and
its fakes: a before/after comparison with the same yardstick (the preview row times this
checkout's code, which it runs in the benchmark's own process).

Exit status: 2 when a row failed to run, else (full run) 1 when a target is missed, else 0;
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

from bench import album, concurrency, harness, hd, inputs, latency, startup
from bench.report import Figure, document, render, summary, write

ROWS: dict[str, Callable[[bool], Awaitable[list[Figure]]]] = {
    "latency": latency.polling,
    "concurrency": concurrency.run,
    "hd": hd.run,
    "input": inputs.run,
    "startup": startup.run,
    "album": album.run,
    "webhook": latency.webhook,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", metavar="ROW[,ROW]", help=f"only these: {', '.join(ROWS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, report only")
    parser.add_argument("--json", type=Path, metavar="PATH", help="where to write the results")
    parser.add_argument("--bot", type=Path, metavar="PATH", help="the checkout whose bot runs")
    args = parser.parse_args(argv)
    args.rows = [name.strip() for name in (args.only or ",".join(ROWS)).split(",") if name.strip()]
    if not args.rows or any(name not in ROWS for name in args.rows):
        parser.error(f"--only takes names among {', '.join(ROWS)}")
    return args


async def run_rows(rows: Sequence[str], quick: bool) -> tuple[list[Figure], bool]:
    """Every requested row, in order; whether all of them ran (a failure becomes n/a)."""
    figures: list[Figure] = []
    all_ran = True
    for name in rows:
        started = time.monotonic()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            figures += await ROWS[name](quick)
        except Exception as exc:  # noqa: BLE001 - one broken row must not hide the others
            traceback.print_exc(file=sys.stderr)
            reason = f"failed: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
            figures.append(Figure(name, "(row failed to run)", None, "", note=reason))
            all_ran = False
            continue
        print(f"[bench] {name} done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return figures, all_ran


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print the table, save the JSON; the exit status."""
    args = parse_args(argv)
    if args.bot is not None:
        if not (args.bot / "bot" / "__main__.py").is_file():
            print(f"--bot: {args.bot} holds no bot package", file=sys.stderr)
            return 2
        harness.BOT_TREE = args.bot.resolve()
    started_at = datetime.now(UTC)
    started = time.monotonic()
    try:
        figures, all_ran = asyncio.run(run_rows(args.rows, args.quick))
    except KeyboardInterrupt:
        print("\ninterrupted; the bot and its temporary files were cleaned up", file=sys.stderr)
        return 130
    seconds = time.monotonic() - started
    options = {"rows": args.rows, "quick": args.quick, "bot": str(args.bot or "this checkout")}
    paths = write(document(figures, started_at, seconds, options), args.json, started_at)
    mode = "quick run: small sizes, a report only" if args.quick else "full run"
    print(f"\nflash-image-bot benchmark ({mode}, {seconds:.0f} s)\n")
    print(render(figures))
    note = " (a quick run: indicative only, the exit status ignores targets)" if args.quick else ""
    print(f"\n{summary(figures)}{note}")
    print(f"results: {', '.join(str(p) for p in paths)}")
    if not all_ran:
        return 2
    return 0 if args.quick or all(f.ok is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())

"""flash-image-bot: `python -m bot` runs the bot; `check` checks a deployment; `stats`,
`export` and `payments` read its ledger (`payments --reconcile` also asks Telegram)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import date
from typing import TextIO

from bot.config import LedgerSettings, Settings, load_settings
from bot.core.quota import QuotaPolicy
from bot.errors import ConfigError
from bot.exports import write_payments, write_requests
from bot.ledger import open_ledger
from bot.logs import setup_logging


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (the default)")
    commands.add_parser("check", help="check the configuration, the token and the gateway")
    commands.add_parser("stats", help="print the usage summary")
    export = commands.add_parser("export", help="write the ledger as CSV")
    export.add_argument(
        "--since", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD (UTC)"
    )
    export.add_argument(
        "--output", "-o", type=argparse.FileType("w", encoding="utf-8"), default=sys.stdout
    )
    payments = commands.add_parser("payments", help="list Stars payments as CSV")
    payments.add_argument(
        "--since", type=date.fromisoformat, default=None, help="first day, YYYY-MM-DD (UTC)"
    )
    payments.add_argument(
        "--reconcile",
        action="store_true",
        help="compare with Telegram's getStarTransactions and report every difference",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m bot` and the `flash-image-bot` script."""
    args = parse_args(argv)
    try:
        if args.command == "check":
            from bot.checks import run_checks

            return asyncio.run(run_checks())
        if args.command == "stats":
            return asyncio.run(print_stats(load_settings(LedgerSettings)))
        if args.command == "payments":
            if args.reconcile:
                return asyncio.run(reconcile(load_settings(Settings)))
            return asyncio.run(list_payments(load_settings(LedgerSettings), args.since))
        if args.command == "export":
            settings = load_settings(LedgerSettings)
            return asyncio.run(export(settings, args.since, args.output))
        return run(load_settings(Settings))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


def run(settings: Settings) -> int:
    """Run the bot until SIGINT or SIGTERM."""
    from telegram.error import InvalidToken

    from bot import allocator
    from bot.app import serve

    allocator.tune()
    setup_logging(settings.log_level, settings.secrets)
    try:
        return asyncio.run(serve(settings))
    except InvalidToken:
        print(
            "TELEGRAM_BOT_TOKEN was rejected by Telegram: check it with @BotFather",
            file=sys.stderr,
        )
        return 1
    except Exception:
        # Through logging, so the traceback is scrubbed of the token and the key.
        logging.getLogger("bot").critical("the bot stopped on an unexpected error", exc_info=True)
        return 1


async def print_stats(settings: LedgerSettings) -> int:
    """Print today's and all-time usage with the top users."""
    from bot.core.reports import usage_report

    async with open_ledger(settings.database_path) as ledger:
        print(await usage_report(ledger, QuotaPolicy.from_settings(settings), settings))
    return 0


async def export(settings: LedgerSettings, since: date, out: TextIO) -> int:
    """Write every ledger row created on or after `since` as (spreadsheet-safe) CSV."""
    try:
        async with open_ledger(settings.database_path) as ledger:
            await write_requests(ledger, since.isoformat(), out)
    finally:
        out.flush()
    return 0


async def list_payments(settings: LedgerSettings, since: date | None) -> int:
    """Print the Stars payments (since a day) as CSV."""
    async with open_ledger(settings.database_path) as ledger:
        await write_payments(ledger.payments.since(since.isoformat() if since else ""), sys.stdout)
    return 0


async def reconcile(settings: Settings) -> int:
    """Compare Telegram's Star transactions with the ledger; 0 if they agree, else 1."""
    from bot.core.access import Access
    from bot.core.moves import ChatMoves
    from bot.core.shop import Shop
    from bot.tg.identity import star_payments

    setup_logging(settings.log_level, settings.secrets)
    async with open_ledger(settings.database_path) as ledger:
        quota = QuotaPolicy.from_settings(settings)
        moves = ChatMoves(ledger.moves)
        access = Access(settings, ledger.users, ledger.requests, quota, moves, ledger.chats)
        shop = Shop(settings.stars_packs, ledger, access)
        differences = await shop.reconcile(await star_payments(settings), credit_missing=False)
    for line in differences:
        print(line)
    if not differences:
        print("Telegram's record and the ledger agree")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())

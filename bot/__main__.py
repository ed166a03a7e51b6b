"""`python -m bot`: run the bot; `stats` and `export` read the ledger for operators."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import load_settings
from bot.errors import ConfigError
from bot.logs import setup_logging


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (the default)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m bot` and the `flash-image-bot` script."""
    args = parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    secrets = [
        settings.telegram_bot_token.get_secret_value(),
        settings.image_api_key.get_secret_value(),
    ]
    setup_logging(settings.log_level, secrets)
    if args.command in (None, "run"):
        from bot.app import serve

        asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())

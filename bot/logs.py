"""Logging set-up: one format, quiet HTTP libraries, and secrets scrubbed from every line.

httpx logs each request URL at INFO, and Bot API URLs carry the bot token; those loggers
are raised to WARNING, and the formatter replaces the token and the API key wherever they
would still appear (messages, arguments, tracebacks), as whole tokens only: a secret is
replaced where no letter, digit, `_` or `-` touches it (or right after `bot`, as in a Bot
API URL), so a short key never eats into ordinary words.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterable
from typing import TextIO

REDACTED = "[redacted]"
QUIET_LOGGERS = ("httpx", "httpcore", "aiohttp.access", "apscheduler")
#: PTB logs an answer it cannot parse (a proxy's 502 page) at ERROR, with a traceback and
#: the whole page; the bot logs the same failure once, in one line, where it handles it.
SILENT_LOGGERS = ("telegram.request.BaseRequest",)


_TOKEN_CHAR = "A-Za-z0-9_\\-"


def redactor(secrets: Iterable[str]) -> Callable[[str], str]:
    """A function that replaces each of `secrets`, as a whole token, with `[redacted]`."""
    wanted = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not wanted:
        return lambda text: text
    pattern = re.compile(
        f"(?:(?<=bot)|(?<![{_TOKEN_CHAR}]))(?:{'|'.join(map(re.escape, wanted))})"
        f"(?![{_TOKEN_CHAR}])"
    )
    return lambda text: pattern.sub(REDACTED, text)


class RedactingFormatter(logging.Formatter):
    """A formatter that removes secrets from the finished line."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self._redact = redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        """Format as usual, then scrub."""
        return self._redact(super().format(record))


def setup_logging(level: str, secrets: Iterable[str], stream: TextIO | None = None) -> None:
    """Send every log line, scrubbed, to `stream` (stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in SILENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)

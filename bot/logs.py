"""Logging set-up: one format, quiet HTTP libraries, and secrets scrubbed from every line.

httpx logs each request URL at INFO, and Bot API URLs carry the bot token; those loggers
are raised to WARNING, and the formatter replaces the token and the API key wherever they
would still appear (messages, arguments, tracebacks).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

REDACTED = "[redacted]"
QUIET_LOGGERS = ("httpx", "httpcore", "aiohttp.access", "apscheduler")


class RedactingFormatter(logging.Formatter):
    """A formatter that removes secrets from the finished line."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        """Format as usual, then scrub."""
        line = super().format(record)
        for secret in self._secrets:
            line = line.replace(secret, REDACTED)
        return line


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

"""`bot.logs`: one format, quiet HTTP libraries, secrets scrubbed from every line."""

from __future__ import annotations

import io
import logging

from tests.support.bot import TOKEN


def test_httpx_request_lines_are_silenced(log_stream: io.StringIO) -> None:
    """httpx logs request URLs at INFO; its logger is kept at WARNING."""
    logging.getLogger("httpx").info("HTTP Request: POST https://x/bot%s/getMe", TOKEN)
    assert "HTTP Request" not in log_stream.getvalue()

"""`bot.logs`: one format, quiet HTTP libraries, secrets scrubbed from every line."""

from __future__ import annotations

import io
import logging

from bot.logs import redactor
from tests.support.bot import TOKEN


def test_httpx_request_lines_are_silenced(log_stream: io.StringIO) -> None:
    """httpx logs request URLs at INFO; its logger is kept at WARNING."""
    logging.getLogger("httpx").info("HTTP Request: POST https://x/bot%s/getMe", TOKEN)
    assert "HTTP Request" not in log_stream.getvalue()


def test_a_short_key_is_redacted_as_a_whole_token_only() -> None:
    """A one-letter key must not turn "unexpected" into "une[redacted]pected" (SPEC 5)."""
    redact = redactor(["x"])
    assert redact("unexpected error with key x") == "unexpected error with key [redacted]"
    assert redact("Bearer x, x-ray, x_y, box") == "Bearer [redacted], x-ray, x_y, box"


def test_the_token_is_redacted_in_urls_and_alone() -> None:
    secret = TOKEN.partition(":")[2]
    redact = redactor([TOKEN, secret])
    url = f"https://api.telegram.org/bot{TOKEN}/getMe"
    assert redact(url) == "https://api.telegram.org/bot[redacted]/getMe"
    assert redact(f"token={TOKEN};") == "token=[redacted];"
    assert redact(f"half {secret}") == "half [redacted]"
    assert redact(f"{secret}suffix stays") == f"{secret}suffix stays"

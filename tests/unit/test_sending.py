"""`bot.tg.sending`: the delivery promise — a slow send is never repeated, a failed one is."""

from __future__ import annotations

import aiohttp
import pytest
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.tg.sending import SEND_ATTEMPTS, may_resend, retrying


def caused(error: NetworkError, cause: BaseException) -> NetworkError:
    error.__cause__ = cause
    return error


# The causes `bot.tg.requests` gives its errors (tests/unit/test_requests.py makes them).
LOST_ANSWER = caused(TimedOut(), aiohttp.SocketTimeoutError("Timeout on reading data"))
NEVER_SENT = caused(TimedOut(), aiohttp.ConnectionTimeoutError("Connection timeout"))
DROPPED = caused(NetworkError("aiohttp.ServerDisconnectedError"), aiohttp.ServerDisconnectedError())
BAD_GATEWAY = NetworkError("Bad Gateway")
REFUSED = BadRequest("Photo_invalid_dimensions")


@pytest.mark.parametrize(
    ("error", "again"),
    [
        (LOST_ANSWER, False),
        (REFUSED, False),
        (NEVER_SENT, True),
        (DROPPED, True),
        (BAD_GATEWAY, True),
    ],
)
def test_what_may_be_sent_again(error: NetworkError, again: bool) -> None:
    """Only a send Telegram did not answer because it failed outright goes out again."""
    assert may_resend(error) is again


async def test_a_timed_out_send_goes_out_once() -> None:
    """The photo whose answer was lost is not posted a second time."""
    attempts: list[int] = []

    async def send() -> None:
        attempts.append(1)
        raise LOST_ANSWER

    with pytest.raises(TimedOut):
        await retrying(send)
    assert len(attempts) == 1


async def test_reads_are_retried_even_after_a_time_out() -> None:
    """A download changes nothing at Telegram: tried again after any network failure."""
    attempts: list[int] = []

    async def read() -> bytes:
        attempts.append(1)
        if len(attempts) < SEND_ATTEMPTS:
            raise LOST_ANSWER
        return b"image"

    assert await retrying(read, idempotent=True) == b"image"
    assert len(attempts) == SEND_ATTEMPTS

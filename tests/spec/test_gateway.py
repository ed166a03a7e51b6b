"""SPEC section 1, the gateway as users meet it: what failed is told plainly, nothing charged."""

from __future__ import annotations

import pytest

from bot.app import Runtime
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import (
    StartBot,
    to_chat,
    today,
)


class TestGatewayErrors:
    """Each gateway failure gets a short, specific sentence and costs nothing."""

    @pytest.mark.parametrize(
        ("reply", "expected"),
        [
            (gw.error(400, "prompt blocked by safety filter"), "refused this request: prompt"),
            (gw.error(401, "invalid token"), "API key"),
            (gw.raw(b"<html>oops</html>"), "something I can't use"),
            (gw.text("I can only make images of cats."), "I can only make images of cats."),
            (gw.markdown_urls("http://127.0.0.1:9/x.png"), "could not be downloaded"),
        ],
    )
    async def test_user_is_told_what_failed(
        self,
        bot: Runtime,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        reply: gw.Reply,
        expected: str,
    ) -> None:
        """The sentence names the failure and says nothing was charged; no traceback."""
        gateway.enqueue(reply)
        ann = telegram.user(1)
        telegram.send_text(ann, telegram.private_chat(ann), "a dog")
        [message] = await telegram.wait_for_sent(1, timeout=15)
        assert expected in message["text"]
        assert "Nothing was charged" in message["text"]
        assert "Traceback" not in message["text"]
        assert await bot.ledger.requests.used_units(1, today()) == 0

    async def test_rate_limited_then_timeout(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """A gateway that keeps answering 429 past the deadline: "overloaded"."""
        gateway.default = gw.error(429, "busy", retry_after=0.4)
        async with start_bot(request_timeout=1.5):
            ann = telegram.user(1)
            telegram.send_text(ann, telegram.private_chat(ann), "a dog")
            [message] = await telegram.wait_for_sent(1, timeout=10)
        assert "overloaded" in message["text"]
        assert len(gateway.requests) >= 2

    async def test_hanging_gateway(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """No answer within REQUEST_TIMEOUT: "took too long"."""
        gateway.default = gw.hang()
        async with start_bot(request_timeout=1):
            ann = telegram.user(1)
            telegram.send_text(ann, telegram.private_chat(ann), "a dog")
            [message] = await telegram.wait_for_sent(1, timeout=10)
        assert "took too long" in message["text"]

    async def test_bot_keeps_working_after_a_failure(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """After an error, the next request works."""
        gateway.enqueue(gw.error(400, "nope"))
        ann = telegram.user(1)
        chat = telegram.private_chat(ann)
        telegram.send_text(ann, chat, "first")
        [refusal] = await telegram.wait_for_sent(1)
        assert "refused this request: nope" in refusal["text"]
        telegram.send_text(ann, chat, "second")
        await telegram.wait_for("sendPhoto", where=to_chat(1))
        assert [r.prompt for r in gateway.requests] == ["first", "second"]

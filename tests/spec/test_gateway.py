"""SPEC section 1, the gateway as users meet it: what failed is told plainly, nothing charged."""

from __future__ import annotations

import pytest

from bot.app import Runtime
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import png
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
            (gw.error(401, "invalid token", type="new_api_error"), "unavailable right now"),
            (
                gw.error(403, "用户额度不足, 剩余额度: ＄0.01", code="insufficient_user_quota"),
                "unavailable right now",
            ),
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
        assert await bot.ledger.spending.used_units(1, today()) == 0

    async def test_gateway_text_of_an_outage_is_never_shown(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """Balances and request ids stay with the operator (SPEC section 1)."""
        gateway.enqueue(
            gw.error(
                403,
                "用户额度不足, 剩余额度: ＄0.012 (request id: X1)",
                code="insufficient_user_quota",
            )
        )
        ann = telegram.user(1, language_code="zh-hans")
        telegram.send_text(ann, telegram.private_chat(ann), "一只狗")
        [message] = await telegram.wait_for_sent(1, timeout=15)
        assert message["text"] == "图片服务暂时不可用，请稍后再试。本次未扣除额度。"

    async def test_safety_block_is_explained_and_not_retried(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """`finish_reason: content_filter`: the safety sentence, one call, ledger no_image."""
        gateway.enqueue(gw.text("", finish_reason="content_filter"), gw.markdown(png()))
        ann = telegram.user(1)
        telegram.send_text(ann, telegram.private_chat(ann), "something forbidden")
        [message] = await telegram.wait_for_sent(1, timeout=15)
        assert "safety filter blocked" in message["text"]
        assert "Nothing was charged" in message["text"]
        assert len(gateway.requests) == 1
        [row] = await bot.ledger.requests.recent(1, 1)
        assert row.status == "no_image"
        assert "content_filter" in (row.error or "")
        assert await bot.ledger.spending.used_units(1, today()) == 0

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

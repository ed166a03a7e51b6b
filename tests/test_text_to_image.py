"""Text to image end to end: the real bot, a fake Bot API server and a fake gateway."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import Runtime
from tests.conftest import StartBot
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import big_png, png
from tests.fakes.telegram import Call, FakeTelegram


def to_chat(chat_id: int):
    return lambda call: call.params.get("chat_id") == chat_id


def uploaded(call: Call, field: str) -> bytes:
    return call.files[field].data


def texts_to(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in telegram.sent_messages(chat_id) if "text" in m]


class TestGenerate:
    """Plain text and the draw commands make a picture, sent as a reply."""

    async def test_text_becomes_a_photo_reply(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """The gateway gets the prompt; the user gets the same image as a photo reply."""
        image = png(512, 512, seed=1)
        gateway.enqueue(gw.markdown(image))
        ann = telegram.user(1, "Ann")
        asked = telegram.send_text(ann, telegram.private_chat(ann), "a corgi astronaut, watercolor")
        [call] = await telegram.wait_for("sendPhoto", where=to_chat(1))
        assert uploaded(call, "photo") == image
        assert call.params["reply_parameters"]["message_id"] == asked["message_id"]
        buttons = call.params["reply_markup"]["inline_keyboard"][0]
        assert [b["callback_data"].split(":")[0] for b in buttons] == ["again", "hd"]
        [request] = gateway.requests
        assert request.prompt == "a corgi astronaut, watercolor"
        assert request.model == "gemini-2.5-flash-image"
        assert request.body["messages"][0]["content"] == "a corgi astronaut, watercolor"

    @pytest.mark.parametrize("command", ["/draw", "/image", "/imagine"])
    async def test_draw_commands(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, command: str
    ) -> None:
        """`/draw`, `/image` and `/imagine` take the rest of the line as the prompt."""
        ann = telegram.user(1)
        telegram.send_text(ann, telegram.private_chat(ann), f"{command} a red fox")
        await telegram.wait_for("sendPhoto", where=to_chat(1))
        assert gateway.requests[0].prompt == "a red fox"

    async def test_aspect_ratio_option(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """`--ar 16:9` goes to image_config and leaves the prompt."""
        ann = telegram.user(1)
        telegram.send_text(ann, telegram.private_chat(ann), "/draw a beach --ar 16:9")
        await telegram.wait_for("sendPhoto", where=to_chat(1))
        assert gateway.requests[0].prompt == "a beach"
        assert gateway.requests[0].aspect_ratio == "16:9"

    async def test_empty_prompt_is_explained_and_nothing_called(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """`/draw` alone: a short explanation, no gateway call."""
        ann = telegram.user(1)
        telegram.send_text(ann, telegram.private_chat(ann), "/draw")
        [message] = await telegram.wait_for_sent(1)
        assert "Tell me what to draw" in message["text"]
        assert gateway.requests == []

    async def test_start_and_help(self, bot: Runtime, telegram: FakeTelegram) -> None:
        """/start and /help explain the bot; the command menu is registered."""
        ann = telegram.user(1)
        telegram.send_text(ann, telegram.private_chat(ann), "/start")
        [message] = await telegram.wait_for_sent(1)
        assert "/draw" in message["text"] and "/hd" in message["text"]
        [menu, *_] = telegram.calls_of("setMyCommands")
        names = [c["command"] for c in menu.params["commands"]]
        assert {"draw", "hd", "help"} <= set(names)

    async def test_chinese_user_gets_chinese(self, bot: Runtime, telegram: FakeTelegram) -> None:
        """language_code zh-hans: replies in Chinese."""
        li = telegram.user(2, "Li", language_code="zh-hans")
        telegram.send_text(li, telegram.private_chat(li), "/help")
        [message] = await telegram.wait_for_sent(2)
        assert "图片" in message["text"]


class TestStatus:
    """The chat shows "sending photo…" while the request runs."""

    async def test_upload_photo_action_is_renewed(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """A 4.5 s request shows the action at the start and again after 4 s."""
        gateway.enqueue(gw.markdown(png(), delay=4.5))
        ann = telegram.user(1)
        telegram.send_text(ann, telegram.private_chat(ann), "slow one")
        await telegram.wait_for("sendPhoto", where=to_chat(1), timeout=15)
        actions = telegram.calls_of("sendChatAction")
        assert len(actions) >= 2
        assert {a.params["action"] for a in actions} == {"upload_photo"}
        assert 3.5 <= actions[1].at - actions[0].at <= 5


class TestHD:
    """/hd uses the HD model and delivers the original file."""

    async def test_hd_arrives_as_preview_and_identical_original(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """A 12 MB PNG: a downscaled photo preview, then the original as a document."""
        image = big_png(12 * 1024 * 1024)
        gateway.enqueue(gw.data_url(image))
        ann = telegram.user(1)
        telegram.send_text(ann, telegram.private_chat(ann), "/hd a castle")
        [document] = await telegram.wait_for("sendDocument", where=to_chat(1), timeout=30)
        [photo] = telegram.calls_of("sendPhoto")
        assert uploaded(document, "document") == image
        assert len(uploaded(photo, "photo")) < 10 * 1024 * 1024
        assert photo.at < document.at
        assert "reply_markup" in document.params
        assert gateway.requests[0].model == "gemini-2.5-flash-image-hd"

    async def test_too_big_for_a_photo_goes_as_a_document(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """A standard result Telegram would refuse as a photo (w + h > 10000) is a file."""
        image = png(9000, 1200, seed=2)
        gateway.enqueue(gw.markdown(image))
        ann = telegram.user(1)
        telegram.send_text(ann, telegram.private_chat(ann), "a panorama")
        [document] = await telegram.wait_for("sendDocument", where=to_chat(1), timeout=20)
        assert uploaded(document, "document") == image
        assert all(c.ok for c in telegram.calls_of("sendPhoto"))


class TestFloodControl:
    """Telegram's 429 is honoured and the image still arrives."""

    async def test_retry_after_on_send_photo(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """sendPhoto answers 429 retry_after=1 once: the photo is sent again after 1 s."""
        telegram.fail_next("sendPhoto", status=429, retry_after=1)
        ann = telegram.user(1)
        telegram.send_text(ann, telegram.private_chat(ann), "a cat")
        await telegram.wait_for("sendPhoto", where=lambda c: c.ok, timeout=15)
        refused, sent = telegram.calls_of("sendPhoto")
        assert refused.status == 429
        assert sent.at - refused.at >= 1.0

    async def test_flood_wait_in_one_chat_does_not_hold_back_another(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """Ann's chat waits out its 429 (2 s); Bob's photo goes out meanwhile."""
        telegram.fail_next("sendPhoto", status=429, retry_after=2)
        ann, bob = telegram.user(1), telegram.user(2, "Bob")
        telegram.send_text(ann, telegram.private_chat(ann), "a cat")
        [refused] = await telegram.wait_for("sendPhoto", where=lambda c: c.status == 429)
        telegram.send_text(bob, telegram.private_chat(bob), "a dog")
        [bobs] = await telegram.wait_for(
            "sendPhoto", where=lambda c: c.ok and c.params["chat_id"] == 2
        )
        [anns] = await telegram.wait_for(
            "sendPhoto", where=lambda c: c.ok and c.params["chat_id"] == 1, timeout=10
        )
        assert bobs.at - refused.at < 1.0
        assert anns.at - refused.at >= 2.0


class TestConcurrency:
    """One user's slow image never delays another user."""

    async def test_slow_request_does_not_delay_another_user(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """Ann's 5 s request is still running when Bob's 0.2 s request is delivered."""
        gateway.responder = lambda req: gw.markdown(png(), delay=5 if "slow" in req.prompt else 0.2)
        ann, bob = telegram.user(1), telegram.user(2, "Bob")
        telegram.send_text(ann, telegram.private_chat(ann), "slow painting")
        await gateway.wait_for_requests(1)
        telegram.send_text(bob, telegram.private_chat(bob), "quick sketch")
        [bobs] = await telegram.wait_for("sendPhoto", where=to_chat(2), timeout=10)
        assert not telegram.calls_of("sendPhoto") or all(
            c.params["chat_id"] == 2 for c in telegram.calls_of("sendPhoto")
        )
        [anns] = await telegram.wait_for("sendPhoto", where=to_chat(1), timeout=10)
        assert bobs.at < anns.at
        assert bobs.at - gateway.requests[1].at < 1.0

    async def test_queue_position_is_told(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """With every gateway slot busy, the next user hears their place in the queue."""
        gateway.default = gw.markdown(png(), delay=1.5)
        async with start_bot(max_concurrent_requests=1):
            ann, bob = telegram.user(1), telegram.user(2, "Bob")
            telegram.send_text(ann, telegram.private_chat(ann), "first")
            await gateway.wait_for_requests(1)
            telegram.send_text(bob, telegram.private_chat(bob), "second")
            await telegram.wait_for("sendPhoto", count=2, timeout=15)
        notices = [m for m in telegram.sent_messages(2) if "queue" in m.get("text", "")]
        assert len(notices) == 1 and "number 1" in notices[0]["text"]
        assert telegram.calls_of("deleteMessage")  # the notice is removed once it runs
        # Bob's chat shows "sending photo…" once his request runs, not while it waits.
        bobs_status = [c for c in telegram.calls_of("sendChatAction") if to_chat(2)(c)]
        assert bobs_status[0].at - gateway.requests[0].at >= 1.0  # Ann's 1.5 s came first

    async def test_third_request_in_flight_is_refused(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """At most 2 requests per user in flight; the third gets a short answer."""
        gateway.default = gw.markdown(png(), delay=1.5)
        ann = telegram.user(1)
        chat = telegram.private_chat(ann)
        for prompt in ("one", "two"):
            telegram.send_text(ann, chat, prompt)
        await gateway.wait_for_requests(2)
        telegram.send_text(ann, chat, "three")
        await telegram.wait_for("sendPhoto", count=2, timeout=10)
        assert any("Still working" in t for t in texts_to(telegram, 1))
        assert len(gateway.requests) == 2


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
        assert await bot.ledger.used_units(1, _today()) == 0

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


class TestShutdown:
    """Stopping lets in-flight requests finish within the grace period."""

    async def test_in_flight_request_finishes_on_stop(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """A request running when the stop comes is still delivered."""
        gateway.default = gw.markdown(png(), delay=1.0)
        async with start_bot() as runtime:
            ann = telegram.user(1)
            telegram.send_text(ann, telegram.private_chat(ann), "a dog")
            await gateway.wait_for_requests(1)
        assert telegram.calls_of("sendPhoto")
        assert runtime.tracker.running == 0

    async def test_request_past_the_grace_period_is_failed_and_released(
        self, start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway
    ) -> None:
        """A request that cannot finish in time is recorded as failed, its units freed."""
        gateway.default = gw.hang()
        async with start_bot(shutdown_grace=0.5) as runtime:
            ann = telegram.user(1)
            telegram.send_text(ann, telegram.private_chat(ann), "a dog")
            await gateway.wait_for_requests(1)
            await asyncio.sleep(0.1)
        from bot.ledger.store import Ledger

        ledger = await Ledger.open(runtime.settings.database_path)
        [row] = await ledger.recent(1)
        assert row.status == "failed" and row.error == "interrupted"
        assert await ledger.used_units(1, _today()) == 0
        await ledger.close()


def _today() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).date().isoformat()

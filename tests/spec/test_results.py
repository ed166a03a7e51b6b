"""SPEC section 2, "Results": a photo reply with buttons, HD as preview and original,
the status while it runs, and the buttons' reruns."""

from __future__ import annotations

from pathlib import Path

from bot.app import Runtime
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import big_png, jpeg, png
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import (
    Json,
    StartBot,
    texts_to,
    to_chat,
    uploaded,
)


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


class TestButtons:
    """Again and HD rerun the same inputs, even after a restart."""

    async def test_again_and_hd_after_a_restart(
        self,
        start_bot: StartBot,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        ann: Json,
        private: Json,
    ) -> None:
        """Both buttons resend the original photo and prompt; HD switches the model."""
        image = jpeg(120, 80, seed=70)
        async with start_bot():
            telegram.send_photo(ann, private, image, caption="oil painting --ar 3:2")
            [result] = await telegram.wait_for("sendPhoto")
        message = result.result
        async with start_bot():
            telegram.press_button(
                ann, message, message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            )
            await gateway.wait_for_requests(2)
            telegram.press_button(
                ann, message, message["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
            )
            first, again, hd = await gateway.wait_for_requests(3)
            await telegram.wait_for("sendDocument")
        for request in (again, hd):
            assert request.images == [image]
            assert request.prompt == "oil painting"
            assert request.aspect_ratio == "3:2"
        assert again.model == first.model == "gemini-2.5-flash-image"
        assert hd.model == "gemini-2.5-flash-image-hd"
        assert telegram.calls_of("answerCallbackQuery")

    async def test_button_pressed_long_ago(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
        """Telegram refuses to answer an old button press; the request still runs."""
        telegram.send_text(ann, private, "a lamp")
        [result] = await telegram.wait_for("sendPhoto")
        telegram.fail_next(
            "answerCallbackQuery",
            status=400,
            description="Bad Request: query is too old and response timeout expired",
            retry_after=None,
        )
        buttons = result.result["reply_markup"]["inline_keyboard"][0]
        telegram.press_button(ann, result.result, buttons[0]["callback_data"])
        await telegram.wait_for("sendPhoto", count=2)
        assert len(gateway.requests) == 2

    async def test_button_acknowledgement_lost(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
        """The spinner's answer is lost on the way (a dropped connection): the request runs."""
        telegram.send_text(ann, private, "a lamp")
        [result] = await telegram.wait_for("sendPhoto")
        telegram.drop_next("answerCallbackQuery")
        buttons = result.result["reply_markup"]["inline_keyboard"][0]
        telegram.press_button(ann, result.result, buttons[0]["callback_data"])
        await telegram.wait_for("sendPhoto", count=2)
        assert len(gateway.requests) == 2
        assert not any("wrong" in t for t in texts_to(telegram, 1))

    async def test_button_whose_inputs_are_gone(
        self,
        start_bot: StartBot,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        ann: Json,
        private: Json,
        tmp_path: Path,
    ) -> None:
        """A button whose request the ledger no longer has (a new database): a clear sentence."""
        async with start_bot(database_path=tmp_path / "old.sqlite3"):
            telegram.send_text(ann, private, "a lamp")
            [result] = await telegram.wait_for("sendPhoto")
        async with start_bot(database_path=tmp_path / "new.sqlite3"):
            buttons = result.result["reply_markup"]["inline_keyboard"][0]
            telegram.press_button(ann, result.result, buttons[0]["callback_data"])
            [_, message] = await telegram.wait_for_sent(1, count=2)
        assert "no longer available" in message["text"]
        assert len(gateway.requests) == 1

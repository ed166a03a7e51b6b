"""Edits, merges, albums, pending images, result buttons and group rules (SPEC section 2):
the gateway receives exactly the images the user meant."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from PIL import Image

from bot.app import Runtime
from tests.conftest import StartBot
from tests.fakes import gateway as gw
from tests.fakes.images import big_png, corrupt_image, jpeg, png, webp
from tests.fakes.telegram import FakeTelegram

BOT = "flash_test_bot"


def texts_to(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m["text"] for m in telegram.sent_messages(chat_id) if "text" in m]


async def settle(seconds: float = 1.5) -> None:
    """Give the bot time to (not) react."""
    await asyncio.sleep(seconds)


@pytest.fixture
def ann(telegram: FakeTelegram) -> dict[str, Any]:
    return telegram.user(1, "Ann", username="ann")


@pytest.fixture
def private(telegram: FakeTelegram, ann: dict[str, Any]) -> dict[str, Any]:
    return telegram.private_chat(ann)


@pytest.fixture
def group(telegram: FakeTelegram) -> dict[str, Any]:
    return telegram.group_chat(-100123)


class TestEdits:
    """A photo, an image file or a reply with an instruction edits that image."""

    async def test_photo_with_caption(self, bot: Runtime, telegram, gateway, ann, private) -> None:
        """The largest photo size, byte for byte, with the caption as the prompt."""
        image = jpeg(800, 600, seed=1)
        telegram.send_photo(ann, private, image, caption="make the dog green")
        [request] = await gateway.wait_for_requests(1)
        assert request.images == [image]
        assert request.image_mimes == ["image/jpeg"]
        assert request.prompt == "make the dog green"
        await telegram.wait_for("sendPhoto")

    @pytest.mark.parametrize(
        ("data", "name", "mime"),
        [
            (png(300, 200, seed=2), "a.png", "image/png"),
            (jpeg(300, 200, seed=3), "a.jpg", "image/jpeg"),
            (webp(300, 200, seed=4), "a.webp", "image/webp"),
        ],
    )
    async def test_image_file_with_caption(
        self, bot: Runtime, telegram, gateway, ann, private, data: bytes, name: str, mime: str
    ) -> None:
        """png, jpg and webp files go as they are, with their MIME type."""
        telegram.send_document(
            ann, private, data, file_name=name, mime_type=mime, caption="blur it"
        )
        [request] = await gateway.wait_for_requests(1)
        assert request.images == [data]
        assert request.image_mimes == [mime]

    async def test_heic_file_is_converted(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """A HEIC file reaches the model as a JPEG of the same picture."""
        import pillow_heif

        heif = pillow_heif.from_pillow(Image.new("RGB", (64, 48), "red"))
        buffer = io.BytesIO()
        heif.save(buffer, quality=90)
        telegram.send_document(
            ann, private, buffer.getvalue(), file_name="a.heic", mime_type="image/heic", caption="x"
        )
        [request] = await gateway.wait_for_requests(1)
        assert request.image_mimes == ["image/jpeg"]
        assert Image.open(io.BytesIO(request.images[0])).size == (64, 48)

    async def test_text_reply_to_a_photo(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """Replying to a message holding an image edits that image."""
        image = png(200, 200, seed=5)
        photo = telegram.send_photo(ann, private, image, push=False)["message"]
        telegram.send_text(ann, private, "now in winter", reply_to=photo)
        [request] = await gateway.wait_for_requests(1)
        assert request.images == [image]
        assert request.prompt == "now in winter"

    async def test_reply_to_the_bots_result_edits_it(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """Iterative editing: the bot's own result is the next request's input."""
        result = png(256, 256, seed=6)
        gateway.enqueue(gw.markdown(result))
        telegram.send_text(ann, private, "a house")
        [sent] = await telegram.wait_for("sendPhoto")
        telegram.send_text(ann, private, "add a red door", reply_to=sent.result)
        _, second = await gateway.wait_for_requests(2)
        assert second.images == [result]
        assert second.prompt == "add a red door"

    async def test_hd_caption_edits_with_the_hd_model(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """`/hd` as a caption uses the HD model on the photo."""
        image = png(100, 100, seed=7)
        telegram.send_photo(ann, private, image, caption="/hd sharper")
        [request] = await gateway.wait_for_requests(1)
        assert request.model == "gemini-2.5-flash-image-hd"
        assert request.images == [image]
        assert request.prompt == "sharper"
        await telegram.wait_for("sendDocument")

    async def test_leading_aspect_ratio(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """`16:9` as the first word is the ratio, not part of the prompt."""
        telegram.send_text(ann, private, "16:9 a beach at dawn")
        [request] = await gateway.wait_for_requests(1)
        assert (request.aspect_ratio, request.prompt) == ("16:9", "a beach at dawn")

    async def test_unknown_aspect_ratio(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """An unsupported ratio: the supported ones are listed, nothing called."""
        telegram.send_text(ann, private, "a beach --ar 7:3")
        [message] = await telegram.wait_for_sent(1)
        assert "7:3" in message["text"] and "21:9" in message["text"]
        assert gateway.requests == []


class TestAlbums:
    """An album is one merge request with every image, in album order."""

    async def test_album_split_across_batches(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """Three parts over two getUpdates batches, caption on the second: one merge."""
        images = [png(64, 64, seed=10 + i) for i in range(3)]
        parts = [
            telegram.send_photo(
                ann,
                private,
                image,
                media_group_id="g1",
                caption="merge them" if i == 1 else None,
                push=False,
            )
            for i, image in enumerate(images)
        ]
        telegram.push_updates(parts[:2])
        await telegram.wait_for("getUpdates", count=telegram.get_updates_count + 1)
        await asyncio.sleep(0.3)
        telegram.push_updates(parts[2:])
        last_part_at = asyncio.get_running_loop().time()
        [request] = await gateway.wait_for_requests(1)
        assert request.images == images
        assert request.prompt == "merge them"
        assert request.at - last_part_at < 1.5
        await telegram.wait_for("sendPhoto")
        await settle(1.2)
        assert len(gateway.requests) == 1

    async def test_too_many_images(
        self, start_bot: StartBot, telegram, gateway, ann, private
    ) -> None:
        """More than MAX_INPUT_IMAGES: the first ones go, and the user is told."""
        images = [png(32, 32, seed=20 + i) for i in range(4)]
        async with start_bot(max_input_images=3):
            for i, image in enumerate(images):
                telegram.send_photo(
                    ann, private, image, media_group_id="g2", caption="collage" if i == 0 else None
                )
            [request] = await gateway.wait_for_requests(1)
            await telegram.wait_for("sendPhoto")
        assert request.images == images[:3]
        assert any("first 3" in t for t in texts_to(telegram, 1))

    async def test_mixed_album_uses_images_only(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """A video inside an album is skipped, with a notice."""
        image = png(32, 32, seed=30)
        telegram.send_photo(ann, private, image, media_group_id="g3", caption="use this")
        video = {"file_id": "vid", "file_unique_id": "v", "width": 1, "height": 1, "duration": 1}
        telegram.send_message(ann, private, video=video, media_group_id="g3")
        [request] = await gateway.wait_for_requests(1)
        assert request.images == [image]
        assert any("skipped" in t for t in texts_to(telegram, 1))

    async def test_album_in_hand_when_the_bot_stops(
        self, start_bot: StartBot, telegram, gateway, ann, private
    ) -> None:
        """Parts received just before a stop are still merged and delivered, not dropped."""
        images = [png(30, 30, seed=70 + i) for i in range(2)]
        async with start_bot():
            telegram.send_photo(ann, private, images[0], media_group_id="g10", caption="merge")
            telegram.send_photo(ann, private, images[1], media_group_id="g10")
            while telegram.pending_updates:  # noqa: ASYNC110 - until the bot confirms both
                await asyncio.sleep(0.01)
        [request] = gateway.requests
        assert request.images == images
        assert telegram.calls_of("sendPhoto")

    async def test_album_cut_off_when_the_stop_runs_out_of_time(
        self, start_bot: StartBot, telegram, gateway, ann, private
    ) -> None:
        """An album in hand at a stop whose grace is spent: "interrupted", the stop is short."""
        gateway.default = gw.markdown(png(), delay=8.0)
        images = [png(30, 30, seed=80 + i) for i in range(2)]
        async with start_bot(shutdown_grace=0.3):
            telegram.send_photo(ann, private, images[0], media_group_id="g11", caption="merge")
            telegram.send_photo(ann, private, images[1], media_group_id="g11")
            while telegram.pending_updates:  # noqa: ASYNC110 - until the bot confirms both
                await asyncio.sleep(0.01)
            stopping = asyncio.get_running_loop().time()
        assert asyncio.get_running_loop().time() - stopping < 4.0
        assert any("restarted" in t for t in texts_to(telegram, 1))

    async def test_album_error_replies_to_the_captioned_part(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """A refused merge is answered under the part that carries the caption, like a result."""
        gateway.enqueue(gw.error(400, "blocked"))
        first = telegram.send_photo(ann, private, png(20, 20, seed=90), media_group_id="g12")
        captioned = telegram.send_photo(
            ann, private, png(20, 20, seed=91), media_group_id="g12", caption="merge"
        )
        [refusal] = await telegram.wait_for_sent(1)
        assert "blocked" in refusal["text"]
        assert refusal["reply_to_message"]["message_id"] == captioned["message_id"]
        assert first["message_id"] != captioned["message_id"]

    async def test_album_of_videos_gets_one_answer(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """No image in the album at all: one explanation, not a "skipped" note as well."""
        for index in range(2):
            video = {"file_id": f"v{index}", "file_unique_id": f"v{index}", "width": 1}
            video |= {"height": 1, "duration": 1}
            caption = {"caption": "merge"} if index == 0 else {}
            telegram.send_message(ann, private, video=video, media_group_id="g9", **caption)
        [message] = await telegram.wait_for_sent(1)
        await asyncio.sleep(0.3)  # room for a second message, which must not come
        assert texts_to(telegram, 1) == [message["text"]]
        assert "skipped" not in message["text"]
        assert gateway.requests == []


class TestPending:
    """Images without a caption wait for the user's next text."""

    async def test_photo_then_text(self, bot: Runtime, telegram, gateway, ann, private) -> None:
        """ "got 1 image", then the text edits it."""
        image = png(50, 50, seed=40)
        telegram.send_photo(ann, private, image)
        [note] = await telegram.wait_for_sent(1)
        assert "Got 1 image" in note["text"]
        telegram.send_text(ann, private, "make it blue")
        [request] = await gateway.wait_for_requests(1)
        assert request.images == [image]

    async def test_album_then_text_merges(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """An uncaptioned album waits; the next text merges all of it."""
        images = [png(40, 40, seed=50 + i) for i in range(2)]
        for image in images:
            telegram.send_photo(ann, private, image, media_group_id="g4")
        [note] = await telegram.wait_for_sent(1)
        assert "Got 2 image" in note["text"]
        telegram.send_text(ann, private, "side by side")
        [request] = await gateway.wait_for_requests(1)
        assert request.images == images

    async def test_cancel_drops_them(self, bot: Runtime, telegram, gateway, ann, private) -> None:
        """/cancel forgets pending images; the next text is a new picture."""
        telegram.send_photo(ann, private, png(20, 20, seed=60))
        await telegram.wait_for_sent(1)
        telegram.send_text(ann, private, "/cancel")
        [_, dropped] = await telegram.wait_for_sent(1, count=2)
        assert "Dropped 1" in dropped["text"]
        telegram.send_text(ann, private, "a tree")
        [request] = await gateway.wait_for_requests(1)
        assert request.images == []

    async def test_pending_survive_a_failed_request(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """If the request fails, the images are still waiting for the next try."""
        image = png(20, 20, seed=61)
        gateway.enqueue(gw.error(400, "nope"))
        telegram.send_photo(ann, private, image)
        await telegram.wait_for_sent(1)
        telegram.send_text(ann, private, "first try")
        await telegram.wait_for_sent(1, count=2)
        telegram.send_text(ann, private, "second try")
        _, second = await gateway.wait_for_requests(2)
        assert second.images == [image]

    async def test_unusable_pending_image_is_dropped(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """A pending image over 20 MB fails the text once; the next text starts afresh."""
        big = b"\x89PNG\r\n\x1a\n" + bytes(21 * 1024 * 1024)
        telegram.send_document(ann, private, big, file_name="big.png", mime_type="image/png")
        await telegram.wait_for_sent(1)
        telegram.send_text(ann, private, "make it blue")
        [_, refused] = await telegram.wait_for_sent(1, count=2)
        assert "20 MB" in refused["text"]
        telegram.send_text(ann, private, "a blue tree")
        [request] = await gateway.wait_for_requests(1)
        assert request.images == [] and request.prompt == "a blue tree"

    async def test_pending_images_survive_a_restart(
        self, start_bot: StartBot, telegram, gateway, ann, private
    ) -> None:
        """Kept in the ledger: a restart between photo and text still edits the photo."""
        image = png(20, 20, seed=62)
        async with start_bot():
            telegram.send_photo(ann, private, image)
            await telegram.wait_for_sent(1)
        async with start_bot():
            telegram.send_text(ann, private, "now edit")
            [request] = await gateway.wait_for_requests(1)
        assert request.images == [image]


class TestButtons:
    """Again and HD rerun the same inputs, even after a restart."""

    async def test_again_and_hd_after_a_restart(
        self, start_bot: StartBot, telegram, gateway, ann, private
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
        self, bot: Runtime, telegram, gateway, ann, private
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
        self, bot: Runtime, telegram, gateway, ann, private
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
        self, start_bot: StartBot, telegram, gateway, ann, private, tmp_path
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


class TestGroups:
    """In groups the bot acts only when addressed, and stays silent otherwise."""

    async def test_chatter_is_ignored(self, bot: Runtime, telegram, gateway, ann, group) -> None:
        """Plain text, photos and albums with captions, other bots' and non-image commands."""
        telegram.send_text(ann, group, "what a nice day")
        telegram.send_photo(ann, group, png(10, 10), caption="my cat")
        telegram.send_text(ann, group, "/draw@other_bot a cat")
        telegram.send_photo(ann, group, png(10, 10, seed=1), media_group_id="gg", caption="holiday")
        telegram.send_photo(ann, group, png(10, 10, seed=2), caption="/start")
        telegram.send_photo(ann, group, png(10, 10, seed=3), media_group_id="gs", caption="/start")
        telegram.send_photo(ann, group, png(10, 10, seed=4), media_group_id="gs")
        await settle()
        assert telegram.sent_messages(group["id"]) == []
        assert gateway.requests == []

    @pytest.mark.parametrize(
        "text", ["/draw a cat", f"/draw@{BOT} a cat", f"@{BOT} a cat", f"a cat @{BOT}"]
    )
    async def test_addressed_text(self, bot: Runtime, telegram, gateway, ann, group, text) -> None:
        """Commands (with or without @botname) and mentions work; the mention leaves the prompt."""
        telegram.send_text(ann, group, text)
        [request] = await gateway.wait_for_requests(1)
        assert request.prompt == "a cat"
        [photo] = await telegram.wait_for("sendPhoto")
        assert photo.params["chat_id"] == group["id"]

    async def test_photo_with_command_or_mention_caption(
        self, bot: Runtime, telegram, gateway, ann, group
    ) -> None:
        """A command or a mention in a caption edits the photo."""
        one, two = png(30, 30, seed=80), png(30, 30, seed=81)
        telegram.send_photo(ann, group, one, caption="/draw make it blue")
        telegram.send_photo(ann, group, two, caption=f"@{BOT} make it red")
        requests = await gateway.wait_for_requests(2)
        by_prompt = {r.prompt: r.images for r in requests}
        assert by_prompt == {"make it blue": [one], "make it red": [two]}

    async def test_album_with_a_mention(self, bot: Runtime, telegram, gateway, ann, group) -> None:
        """An album counts as addressed when any caption is."""
        images = [png(30, 30, seed=90 + i) for i in range(3)]
        for i, image in enumerate(images):
            caption = f"@{BOT} merge" if i == 2 else None
            telegram.send_photo(ann, group, image, media_group_id="ga", caption=caption)
        [request] = await gateway.wait_for_requests(1)
        assert request.images == images and request.prompt == "merge"

    async def test_album_takes_the_addressed_caption(
        self, bot: Runtime, telegram, gateway, ann, group
    ) -> None:
        """ "my cat" on one part, "@bot merge" on a later one: the prompt is "merge"."""
        images = [png(30, 30, seed=95 + i) for i in range(2)]
        telegram.send_photo(ann, group, images[0], media_group_id="gl", caption="my cat")
        telegram.send_photo(ann, group, images[1], media_group_id="gl", caption=f"@{BOT} merge")
        [request] = await gateway.wait_for_requests(1)
        assert request.prompt == "merge" and request.images == images

    async def test_replying_to_the_bots_image_edits_it(
        self, bot: Runtime, telegram, gateway, ann, group
    ) -> None:
        """A group iterates on a picture by replying to the bot's result."""
        result = png(64, 64, seed=99)
        gateway.enqueue(gw.markdown(result))
        bob = telegram.user(2, "Bob")
        telegram.send_text(ann, group, "/draw a boat")
        [sent] = await telegram.wait_for("sendPhoto")
        telegram.send_text(bob, group, "add a sail", reply_to=sent.result)
        _, second = await gateway.wait_for_requests(2)
        assert second.images == [result] and second.prompt == "add a sail"
        await telegram.wait_for("sendPhoto", count=2)
        rows = await bot.ledger.recent(2)
        assert [r.user_id for r in rows] == [2]  # charged to Bob, who asked

    async def test_button_in_a_group_charges_the_presser(
        self, bot: Runtime, telegram, gateway, ann, group
    ) -> None:
        """Bob pressing "Again" on Ann's result spends Bob's quota, not Ann's."""
        bob = telegram.user(2, "Bob")
        telegram.send_text(ann, group, "/draw a kite")
        [sent] = await telegram.wait_for("sendPhoto")
        telegram.press_button(
            bob, sent.result, sent.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        )
        await telegram.wait_for("sendPhoto", count=2)
        assert [r.user_id for r in await bot.ledger.recent(2)] == [2]
        assert len(await bot.ledger.recent(1)) == 1


class TestBadInput:
    """Unusable input gets a short answer; nothing is charged or called."""

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            (
                {
                    "sticker": {
                        "file_id": "s",
                        "file_unique_id": "s",
                        "type": "regular",
                        "width": 1,
                        "height": 1,
                        "is_animated": False,
                        "is_video": False,
                    }
                },
                "only work with",
            ),
            ({"voice": {"file_id": "v", "file_unique_id": "v", "duration": 1}}, "only work with"),
            (
                {
                    "video": {
                        "file_id": "v",
                        "file_unique_id": "v",
                        "width": 1,
                        "height": 1,
                        "duration": 1,
                    },
                    "caption": "edit",
                },
                "only work with",
            ),
        ],
    )
    async def test_media_we_cannot_use(
        self, bot: Runtime, telegram, gateway, ann, private, fields, expected
    ) -> None:
        """Stickers, voice notes and videos are explained."""
        telegram.send_message(ann, private, **fields)
        [message] = await telegram.wait_for_sent(1)
        assert expected in message["text"]
        assert gateway.requests == []

    async def test_non_image_file(self, bot: Runtime, telegram, gateway, ann, private) -> None:
        """A PDF with a caption is explained."""
        telegram.send_document(
            ann, private, b"%PDF-1.4", file_name="a.pdf", mime_type="application/pdf", caption="x"
        )
        [message] = await telegram.wait_for_sent(1)
        assert "only work with" in message["text"]

    async def test_corrupt_image(self, bot: Runtime, telegram, gateway, ann, private) -> None:
        """A damaged image is explained, and the quota is untouched."""
        telegram.send_document(
            ann, private, corrupt_image(), file_name="a.png", mime_type="image/png", caption="fix"
        )
        [message] = await telegram.wait_for_sent(1)
        assert "couldn't read that image" in message["text"]
        assert gateway.requests == []
        [row] = await bot.ledger.recent(1)
        assert row.status == "failed"

    async def test_image_over_the_download_limit(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """Over 20 MB: say so and suggest a smaller file."""
        big = b"\x89PNG\r\n\x1a\n" + bytes(21 * 1024 * 1024)
        telegram.send_document(
            ann, private, big, file_name="big.png", mime_type="image/png", caption="x"
        )
        [message] = await telegram.wait_for_sent(1)
        assert "20 MB" in message["text"] and "smaller" in message["text"]
        assert gateway.requests == []

    async def test_local_bot_api_server_lifts_the_limit(
        self, start_bot: StartBot, telegram, gateway, ann, private, tmp_path
    ) -> None:
        """TELEGRAM_LOCAL_MODE: a 25 MB image is read from the server's disk, byte for byte."""
        image = big_png(25 * 1024 * 1024)
        telegram.local_dir = tmp_path
        async with start_bot(telegram_local_mode=True):
            telegram.send_document(
                ann, private, image, file_name="big.png", mime_type="image/png", caption="crop"
            )
            [request] = await gateway.wait_for_requests(1, timeout=30)
        assert request.images == [image]
        assert telegram.downloads == []  # nothing went over HTTP

    async def test_local_mode_server_serving_files_over_http(
        self, start_bot: StartBot, telegram, gateway, ann, private
    ) -> None:
        """TELEGRAM_LOCAL_MODE, but the server's files are not on this disk: fetched over HTTP."""
        image = png(40, 40, seed=92)
        async with start_bot(telegram_local_mode=True):
            telegram.send_photo(ann, private, image, caption="crop")
            [request] = await gateway.wait_for_requests(1)
        assert request.images == [image]
        assert telegram.downloads

    async def test_empty_instruction_on_a_photo(
        self, bot: Runtime, telegram, gateway, ann, private
    ) -> None:
        """`/draw` alone as a caption asks what to do."""
        telegram.send_photo(ann, private, png(10, 10), caption="/draw")
        [message] = await telegram.wait_for_sent(1)
        assert "what to do with the image" in message["text"]

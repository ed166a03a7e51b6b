"""SPEC section 2, "Private chat": text draws, an image with an instruction is edited,
an album is merged, images without a word wait; what cannot work is explained."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pillow_heif
import pytest
from PIL import Image

from bot.app import Runtime
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import big_png, corrupt_image, jpeg, png, webp
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import (
    Json,
    StartBot,
    settle,
    texts_to,
    to_chat,
    uploaded,
)

BOT = "flash_test_bot"


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


class TestEdits:
    """A photo, an image file or a reply with an instruction edits that image."""

    async def test_photo_with_caption(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
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
        self,
        bot: Runtime,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        ann: Json,
        private: Json,
        data: bytes,
        name: str,
        mime: str,
    ) -> None:
        """png, jpg and webp files go as they are, with their MIME type."""
        telegram.send_document(
            ann, private, data, file_name=name, mime_type=mime, caption="blur it"
        )
        [request] = await gateway.wait_for_requests(1)
        assert request.images == [data]
        assert request.image_mimes == [mime]

    async def test_heic_file_is_converted(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
        """A HEIC file reaches the model as a JPEG of the same picture."""

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
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
        """Replying to a message holding an image edits that image."""
        image = png(200, 200, seed=5)
        photo = telegram.send_photo(ann, private, image, push=False)["message"]
        telegram.send_text(ann, private, "now in winter", reply_to=photo)
        [request] = await gateway.wait_for_requests(1)
        assert request.images == [image]
        assert request.prompt == "now in winter"

    @pytest.mark.parametrize("as_document", [False, True])
    async def test_an_image_quoted_from_another_chat_is_edited(
        self,
        bot: Runtime,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        ann: Json,
        private: Json,
        as_document: bool,
    ) -> None:
        """ "Reply in another chat": the photo (or image file) comes in `external_reply`."""
        channel = telegram.group_chat(-100777, title="News", type="channel")
        image = png(120, 90, seed=7)
        quoted = telegram.external_reply(channel, image, as_document=as_document)
        telegram.send_text(ann, private, "make it green", external_reply=quoted)
        [request] = await gateway.wait_for_requests(1)
        assert (request.images, request.prompt) == ([image], "make it green")

    async def test_an_external_reply_without_an_image_is_text(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
        channel = telegram.group_chat(-100777, title="News", type="channel")
        quoted = telegram.external_reply(channel, png(8, 8))
        quoted.pop("photo", None)
        telegram.send_text(ann, private, "a lighthouse", external_reply=quoted)
        [request] = await gateway.wait_for_requests(1)
        assert (request.images, request.prompt) == ([], "a lighthouse")

    async def test_reply_to_the_bots_result_edits_it(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
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
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
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
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
        """`16:9` as the first word is the ratio, not part of the prompt."""
        telegram.send_text(ann, private, "16:9 a beach at dawn")
        [request] = await gateway.wait_for_requests(1)
        assert (request.aspect_ratio, request.prompt) == ("16:9", "a beach at dawn")

    async def test_unknown_aspect_ratio(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
        """An unsupported ratio: the supported ones are listed, nothing called."""
        telegram.send_text(ann, private, "a beach --ar 7:3")
        [message] = await telegram.wait_for_sent(1)
        assert "7:3" in message["text"] and "21:9" in message["text"]
        assert gateway.requests == []


class TestAlbums:
    """An album is one merge request with every image, in album order."""

    async def test_album_split_across_batches(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
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
        self,
        start_bot: StartBot,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        ann: Json,
        private: Json,
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
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
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
        self,
        start_bot: StartBot,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        ann: Json,
        private: Json,
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
        self,
        start_bot: StartBot,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        ann: Json,
        private: Json,
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
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
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
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
        """No image in the album at all: one explanation, not a "skipped" note as well."""
        for index in range(2):
            video = {"file_id": f"v{index}", "file_unique_id": f"v{index}", "width": 1}
            video |= {"height": 1, "duration": 1}
            caption: dict[str, Any] = {"caption": "merge"} if index == 0 else {}
            telegram.send_message(ann, private, video=video, media_group_id="g9", **caption)
        [message] = await telegram.wait_for_sent(1)
        await asyncio.sleep(0.3)  # room for a second message, which must not come
        assert texts_to(telegram, 1) == [message["text"]]
        assert "skipped" not in message["text"]
        assert gateway.requests == []


class TestPending:
    """Images without a caption wait for the user's next text."""

    async def test_photo_then_text(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
        """ "got 1 image", then the text edits it."""
        image = png(50, 50, seed=40)
        telegram.send_photo(ann, private, image)
        [note] = await telegram.wait_for_sent(1)
        assert "Got 1 image" in note["text"]
        telegram.send_text(ann, private, "make it blue")
        [request] = await gateway.wait_for_requests(1)
        assert request.images == [image]

    async def test_album_then_text_merges(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
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

    async def test_cancel_drops_them(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
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
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
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
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
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
        self,
        start_bot: StartBot,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        ann: Json,
        private: Json,
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
        self,
        bot: Runtime,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        ann: Json,
        private: Json,
        fields: dict[str, Any],
        expected: str,
    ) -> None:
        """Stickers, voice notes and videos are explained."""
        telegram.send_message(ann, private, **fields)
        [message] = await telegram.wait_for_sent(1)
        assert expected in message["text"]
        assert gateway.requests == []

    async def test_non_image_file(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
        """A PDF with a caption is explained."""
        telegram.send_document(
            ann, private, b"%PDF-1.4", file_name="a.pdf", mime_type="application/pdf", caption="x"
        )
        [message] = await telegram.wait_for_sent(1)
        assert "only work with" in message["text"]

    async def test_corrupt_image(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
        """A damaged image is explained, and the quota is untouched."""
        telegram.send_document(
            ann, private, corrupt_image(), file_name="a.png", mime_type="image/png", caption="fix"
        )
        [message] = await telegram.wait_for_sent(1)
        assert "couldn't read that image" in message["text"]
        assert gateway.requests == []
        [row] = await bot.ledger.requests.recent(1)
        assert row.status == "failed"

    async def test_image_over_the_download_limit(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
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
        self,
        start_bot: StartBot,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        ann: Json,
        private: Json,
        tmp_path: Path,
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
        self,
        start_bot: StartBot,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        ann: Json,
        private: Json,
    ) -> None:
        """TELEGRAM_LOCAL_MODE, but the server's files are not on this disk: fetched over HTTP."""
        image = png(40, 40, seed=92)
        async with start_bot(telegram_local_mode=True):
            telegram.send_photo(ann, private, image, caption="crop")
            [request] = await gateway.wait_for_requests(1)
        assert request.images == [image]
        assert telegram.downloads

    async def test_empty_instruction_on_a_photo(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, private: Json
    ) -> None:
        """`/draw` alone as a caption asks what to do."""
        telegram.send_photo(ann, private, png(10, 10), caption="/draw")
        [message] = await telegram.wait_for_sent(1)
        assert "what to do with the image" in message["text"]

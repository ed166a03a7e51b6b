"""SPEC section 2, "Groups and supergroups": the bot acts only when addressed."""

from __future__ import annotations

import pytest

from bot.app import Runtime
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import png
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import (
    Json,
    settle,
)

BOT = "flash_test_bot"


class TestGroups:
    """In groups the bot acts only when addressed, and stays silent otherwise."""

    async def test_chatter_is_ignored(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, group: Json
    ) -> None:
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
    async def test_addressed_text(
        self,
        bot: Runtime,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        ann: Json,
        group: Json,
        text: str,
    ) -> None:
        """Commands (with or without @botname) and mentions work; the mention leaves the prompt."""
        telegram.send_text(ann, group, text)
        [request] = await gateway.wait_for_requests(1)
        assert request.prompt == "a cat"
        [photo] = await telegram.wait_for("sendPhoto")
        assert photo.params["chat_id"] == group["id"]

    async def test_photo_with_command_or_mention_caption(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, group: Json
    ) -> None:
        """A command or a mention in a caption edits the photo."""
        one, two = png(30, 30, seed=80), png(30, 30, seed=81)
        telegram.send_photo(ann, group, one, caption="/draw make it blue")
        telegram.send_photo(ann, group, two, caption=f"@{BOT} make it red")
        requests = await gateway.wait_for_requests(2)
        by_prompt = {r.prompt: r.images for r in requests}
        assert by_prompt == {"make it blue": [one], "make it red": [two]}

    async def test_album_with_a_mention(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, group: Json
    ) -> None:
        """An album counts as addressed when any caption is."""
        images = [png(30, 30, seed=90 + i) for i in range(3)]
        for i, image in enumerate(images):
            caption = f"@{BOT} merge" if i == 2 else None
            telegram.send_photo(ann, group, image, media_group_id="ga", caption=caption)
        [request] = await gateway.wait_for_requests(1)
        assert request.images == images and request.prompt == "merge"

    async def test_album_takes_the_addressed_caption(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, group: Json
    ) -> None:
        """ "my cat" on one part, "@bot merge" on a later one: the prompt is "merge"."""
        images = [png(30, 30, seed=95 + i) for i in range(2)]
        telegram.send_photo(ann, group, images[0], media_group_id="gl", caption="my cat")
        telegram.send_photo(ann, group, images[1], media_group_id="gl", caption=f"@{BOT} merge")
        [request] = await gateway.wait_for_requests(1)
        assert request.prompt == "merge" and request.images == images

    async def test_replying_to_the_bots_image_edits_it(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, group: Json
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
        rows = await bot.ledger.requests.recent(2)
        assert [r.user_id for r in rows] == [2]  # charged to Bob, who asked

    async def test_button_in_a_group_charges_the_presser(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json, group: Json
    ) -> None:
        """Bob pressing "Again" on Ann's result spends Bob's quota, not Ann's."""
        bob = telegram.user(2, "Bob")
        telegram.send_text(ann, group, "/draw a kite")
        [sent] = await telegram.wait_for("sendPhoto")
        telegram.press_button(
            bob, sent.result, sent.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        )
        await telegram.wait_for("sendPhoto", count=2)
        assert [r.user_id for r in await bot.ledger.requests.recent(2)] == [2]
        assert len(await bot.ledger.requests.recent(1)) == 1

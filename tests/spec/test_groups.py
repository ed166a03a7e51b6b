"""SPEC section 2, "Groups and supergroups": the bot acts only when addressed."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from bot.app import Runtime
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import png
from tests.fakes.telegram import Call, FakeTelegram
from tests.support.bot import (
    Json,
    StartBot,
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


def in_topic(thread: int) -> Callable[[Call], bool]:
    """A `wait_for` filter: successful calls sent into forum topic `thread`."""
    return lambda call: call.ok and call.params.get("message_thread_id") == thread


class TestForumTopics:
    """Everything a request produces goes to the topic that asked (SPEC "Forum topics")."""

    async def test_action_and_result_go_to_the_asking_topic(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json
    ) -> None:
        """ "sending photo…" and the photo land in the topic, not in General."""
        forum = telegram.forum()
        art = telegram.add_topic(forum, "art")
        gateway.enqueue(gw.markdown(png(64, 64)).delayed(0.5))
        telegram.send_text(ann, forum, "/draw a fox", thread=art)
        [photo] = await telegram.wait_for("sendPhoto", where=in_topic(art), timeout=15)
        [action, *_] = telegram.calls_of("sendChatAction")
        assert action.params.get("message_thread_id") == art
        assert photo.result["message_thread_id"] == art

    async def test_result_follows_the_topic_when_the_asking_message_is_gone(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json
    ) -> None:
        """The asker deleted their message meanwhile: the result still lands in the topic."""
        forum = telegram.forum()
        art = telegram.add_topic(forum, "art")
        gateway.enqueue(gw.markdown(png(64, 64)).delayed(1.0))
        asking = telegram.send_text(ann, forum, "/draw a fox", thread=art)
        await gateway.wait_for_requests(1)
        telegram.delete(asking)
        [photo] = await telegram.wait_for("sendPhoto", where=lambda c: c.ok, timeout=15)
        assert photo.result.get("message_thread_id") == art

    async def test_general_topic_gets_no_thread_id(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json
    ) -> None:
        """Telegram refuses `message_thread_id=1`: nothing is sent with it in General."""
        forum = telegram.forum()
        gateway.enqueue(gw.markdown(png(64, 64)))
        telegram.send_text(ann, forum, "/draw a fox")
        [photo] = await telegram.wait_for("sendPhoto", where=lambda c: c.ok, timeout=15)
        assert "message_thread_id" not in photo.params
        assert telegram.violations == []

    async def test_a_deleted_topic_sends_the_result_to_general(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json
    ) -> None:
        forum = telegram.forum()
        art = telegram.add_topic(forum, "art")
        gateway.enqueue(gw.markdown(png(64, 64)).delayed(1.0))
        telegram.send_text(ann, forum, "/draw a fox", thread=art)
        await gateway.wait_for_requests(1)
        telegram.delete_topic(forum, art)
        [photo] = await telegram.wait_for("sendPhoto", where=lambda c: c.ok, timeout=15)
        assert "message_thread_id" not in photo.result

    async def test_a_button_pressed_in_a_topic_answers_there(
        self, bot: Runtime, telegram: FakeTelegram, gateway: FakeGateway, ann: Json
    ) -> None:
        forum = telegram.forum()
        art = telegram.add_topic(forum, "art")
        gateway.enqueue(gw.markdown(png(64, 64)), gw.markdown(png(64, 64, seed=1)))
        telegram.send_text(ann, forum, "/draw a fox", thread=art)
        [first] = await telegram.wait_for("sendPhoto", where=in_topic(art), timeout=15)
        again = first.result["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        telegram.press_button(ann, first.result, again)
        await telegram.wait_for("sendPhoto", count=2, where=in_topic(art), timeout=15)


class TestUpgradedGroups:
    """A group that becomes a supergroup keeps getting what was on its way (SPEC)."""

    async def test_a_result_in_flight_goes_to_the_new_id(
        self,
        start_bot: StartBot,
        telegram: FakeTelegram,
        gateway: FakeGateway,
        ann: Json,
        log_stream: io.StringIO,
    ) -> None:
        """The upgrade happens while the image is made; the allow-list keeps applying."""
        group = telegram.group_chat(-4321, type="group")
        gateway.enqueue(gw.markdown(png(64, 64)).delayed(1.0), gw.markdown(png(64, 64, seed=1)))
        async with start_bot(allowed_chat_ids=frozenset({-4321})) as runtime:
            telegram.send_text(ann, group, "/draw a kite")
            await gateway.wait_for_requests(1)
            supergroup = telegram.upgrade(group)
            [photo] = await telegram.wait_for("sendPhoto", where=lambda c: c.ok, timeout=15)
            assert photo.params["chat_id"] == supergroup["id"]
            telegram.send_text(ann, supergroup, "/draw another kite")
            await telegram.wait_for("sendPhoto", count=2, where=lambda c: c.ok, timeout=15)
            assert await runtime.ledger.moves.all() == {-4321: supergroup["id"]}
        assert f"put {supergroup['id']} in ALLOWED_CHAT_IDS" in log_stream.getvalue()

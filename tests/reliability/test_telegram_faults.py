"""Bot API faults against the real bot process: flood control, 5xx and dropped connections,
refused uploads, blocked chats. Updates keep being answered and images still arrive."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from bot.tg.updates import POLL_PAUSE
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import png
from tests.reliability.support import (
    BotProcess,
    Launch,
    ObservedTelegram,
    documents,
    one_sentence,
    person,
    photos,
    problems_in,
    reply_target,
    texts,
    wait_answers,
    wait_until,
)

PROMPT = "a red kite over the dunes"


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


class TestFloodControl:
    """Telegram's 429 is honoured (retry_after), and the answer still arrives once."""

    async def test_send_photo_flood(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """Three 429s on sendPhoto: resent after retry_after each time; one photo, one unit."""
        image = png(300, 200, seed=11)
        gateway.enqueue(gw.markdown(image))
        telegram.fail_next("sendPhoto", status=429, retry_after=1, times=3)
        ann, chat = person(telegram, 1)
        asked = telegram.send_text(ann, chat, PROMPT)
        [answer] = await wait_answers(telegram, 1, within=20)
        assert reply_target(answer) == asked["message_id"]
        calls = telegram.calls_of("sendPhoto")
        assert [c.status for c in calls] == [429, 429, 429, 200]
        assert all(gap >= 1.0 for gap in gaps([c.at for c in calls]))
        assert calls[-1].files["photo"].data == image
        [row] = bot.rows()
        assert (row["status"], row["units"]) == ("ok", 1)

    async def test_send_message_flood(self, bot: BotProcess, telegram: ObservedTelegram) -> None:
        """Two 429s on sendMessage: the help text arrives once, after retry_after."""
        telegram.fail_next("sendMessage", status=429, retry_after=1, times=2)
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, "/help")
        [answer] = await wait_answers(telegram, 1, within=15)
        assert "/draw" in answer["text"]
        calls = telegram.calls_of("sendMessage")
        assert [c.status for c in calls] == [429, 429, 200]
        assert all(gap >= 1.0 for gap in gaps([c.at for c in calls]))


class TestPolling:
    """A Bot API that fails getUpdates: the bot keeps polling, with backoff, and answers."""

    async def test_5xx_on_get_updates(self, bot: BotProcess, telegram: ObservedTelegram) -> None:
        """Three 502s: the polls are spaced out (no hot loop) and later updates are answered."""
        ann, chat = person(telegram, 1)
        telegram.fail_next(
            "getUpdates", status=502, description="Bad Gateway", retry_after=None, times=3
        )
        telegram.send_text(ann, chat, "/help")  # answered by the poll already waiting
        await telegram.wait_for("getUpdates", where=lambda c: c.status == 502)
        telegram.send_text(ann, chat, "/quota")  # waits for the failures to pass
        got = await wait_answers(telegram, 1, 2, within=20)
        assert "/draw" in got[0]["text"] and "Today:" in got[1]["text"]
        polls = telegram.calls_of("getUpdates")
        failed = [c for c in polls if c.status == 502]
        assert len(failed) == 3
        retry = polls[polls.index(failed[-1]) + 1]  # the poll that got through
        assert retry.ok and retry.result and retry.result[0]["message"]["text"] == "/quota"
        assert all(gap >= 0.9 for gap in gaps([c.at for c in [*failed, retry]]))

    async def test_dropped_get_updates_connections(
        self, bot: BotProcess, telegram: ObservedTelegram
    ) -> None:
        """Dropped polls are retried with a pause (no hot loop), and updates still answered."""
        ann, chat = person(telegram, 1)
        telegram.drop_next("getUpdates", times=4)
        telegram.send_text(ann, chat, "/help")  # ends the poll under way; the next ones drop
        await wait_answers(telegram, 1, 1, within=15)

        def dropped() -> list[float]:
            return [c.at for c in telegram.calls_of("getUpdates") if c.status == 0]

        for _ in range(300):  # the four drops take 1 + 1.5 + 2.25 s of back-off
            if len(dropped()) == 4:
                break
            await asyncio.sleep(0.05)
        assert len(dropped()) == 4, telegram.summary()
        assert all(gap >= 0.9 for gap in gaps(dropped())), f"polls at {dropped()}"
        telegram.send_text(ann, chat, "/quota")
        got = await wait_answers(telegram, 1, 2, within=15)
        assert "Today:" in got[1]["text"]

    async def test_a_batch_is_handled_before_the_next_poll(
        self, bot: BotProcess, telegram: ObservedTelegram
    ) -> None:
        """The poll after one that brought updates comes `POLL_PAUSE` later, not at once."""
        handed_out: list[float] = []
        polled: list[float] = []
        telegram.hooks.updates.append(
            lambda updates: handed_out.append(time.monotonic()) if updates else None
        )
        telegram.hooks.request.append(
            lambda call: polled.append(time.monotonic()) if call.method == "getUpdates" else None
        )
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, "/help")
        await wait_answers(telegram, 1)
        await wait_until(lambda: polled and polled[-1] > handed_out[0], what="the next poll")
        [batch] = handed_out
        assert min(t for t in polled if t > batch) - batch >= POLL_PAUSE

    async def test_revoked_token_while_running(
        self, launch: Launch, telegram: ObservedTelegram
    ) -> None:
        """Token revoked at runtime: exit non-zero for the supervisor, or keep polling."""
        bot = await launch(clean_exit=False)
        ann, chat = person(telegram, 1)
        telegram.fail_next("getUpdates", status=401, description="Unauthorized", retry_after=None)
        telegram.send_text(ann, chat, "/help")  # ends the poll in flight; the next gets 401
        await wait_answers(telegram, 1)
        telegram.send_text(ann, chat, "/quota")
        await asyncio.sleep(4)
        exited = bot.returncode is not None and bot.returncode != 0
        answered = len(texts(telegram, 1)) == 2
        assert exited or answered, f"alive={bot.running}, answers={texts(telegram, 1)}"

    async def test_update_the_library_cannot_parse(
        self, launch: Launch, telegram: ObservedTelegram
    ) -> None:
        """A poll in an older Bot API shape (a lagging self-hosted server): the rest goes on."""
        bot = await launch(clean_exit=False)
        ann, chat = person(telegram, 1)
        old_poll = {
            "id": "1",
            "question": "Cats or dogs?",
            "options": [{"text": "cats", "voter_count": 0}, {"text": "dogs", "voter_count": 0}],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
        }
        telegram.send_message(ann, chat, poll=old_poll)
        telegram.send_text(ann, chat, "/help")
        await asyncio.sleep(3)
        polls = len(telegram.calls_of("getUpdates"))
        try:
            assert any("/draw" in text for text in texts(telegram, 1)), telegram.summary(5)
            assert polls < 30, f"{polls} getUpdates calls in 3 s"
        finally:
            code = await bot.stop()
        assert code == 0


class TestRefusedUploads:
    """Telegram refuses the photo: the image goes as a document (after a preview)."""

    async def test_dimensions_over_telegrams_photo_limit(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """A 9000x1200 result (w + h > 10000): a preview photo, then the original file."""
        image = png(9000, 1200, seed=12)
        gateway.enqueue(gw.markdown(image))
        ann, chat = person(telegram, 1)
        asked = telegram.send_text(ann, chat, PROMPT)
        preview, document = await wait_answers(telegram, 1, 2, within=30)
        assert "photo" in preview and "document" in document
        assert reply_target(preview) == reply_target(document) == asked["message_id"]
        [upload] = telegram.calls_of("sendDocument")
        assert upload.files["document"].data == image
        assert "reply_markup" in upload.params  # the buttons are on the original
        assert all(c.ok for c in telegram.calls_of("sendPhoto"))  # no doomed photo upload
        [row] = bot.rows()
        assert (row["status"], row["units"]) == ("ok", 1)
        assert row["bytes_delivered"] >= len(image)

    @pytest.mark.parametrize(
        ("status", "description"),
        [
            (400, "Bad Request: PHOTO_INVALID_DIMENSIONS"),
            (413, "Request Entity Too Large"),
        ],
    )
    async def test_photo_refused_for_a_normal_image(
        self,
        bot: BotProcess,
        telegram: ObservedTelegram,
        gateway: FakeGateway,
        status: int,
        description: str,
    ) -> None:
        """Telegram refuses the photo anyway: preview photo, then the original as a file."""
        image = png(640, 480, seed=13)
        gateway.enqueue(gw.markdown(image))
        telegram.fail_next("sendPhoto", status=status, description=description, retry_after=None)
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, PROMPT)
        got = await wait_answers(telegram, 1, 2, within=15)
        assert len(photos(telegram, 1)) == 1 and len(documents(telegram, 1)) == 1, got
        [upload] = telegram.calls_of("sendDocument")
        assert upload.files["document"].data == image
        assert [c.status for c in telegram.calls_of("sendPhoto")] == [status, 200]
        assert problems_in(bot.log) == []


class TestBlockedChat:
    """A chat that blocked the bot: logged, not retried, and nobody else is affected."""

    async def test_blocked_user(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """One refused sendPhoto, no apology attempt, a warning; other users still served."""
        ann, chat = person(telegram, 1)
        telegram.block(1)
        telegram.send_text(ann, chat, PROMPT)
        await wait_until(lambda: bool(telegram.calls_of("sendPhoto")), what="a sendPhoto")
        await asyncio.sleep(2.5)
        to_ann = [c for c in telegram.calls if c.params.get("chat_id") == 1]
        sends = [c for c in to_ann if c.method != "sendChatAction"]
        assert [(c.method, c.status) for c in sends] == [("sendPhoto", 403)]
        assert len(to_ann) <= 3  # the photo and at most a couple of chat actions
        assert "cannot write to the chat" in bot.log and "blocked" in bot.log
        bob, bobs_chat = person(telegram, 2, "Bob")
        telegram.send_text(bob, bobs_chat, PROMPT)
        [answer] = await wait_answers(telegram, 2)
        assert "photo" in answer
        assert [c for c in telegram.calls if c.params.get("chat_id") == 1] == to_ann
        assert problems_in(bot.log) == []


class TestNetworkErrors:
    """A connection lost or a 5xx while sending: the answer still arrives, exactly once."""

    async def test_connection_dropped_mid_upload(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """drop_next(sendPhoto): resent; one photo in the chat; charged once."""
        image = png(320, 240, seed=14)
        gateway.enqueue(gw.markdown(image))
        telegram.drop_next("sendPhoto")
        ann, chat = person(telegram, 1)
        asked = telegram.send_text(ann, chat, PROMPT)
        [answer] = await wait_answers(telegram, 1, within=15)
        assert "photo" in answer and reply_target(answer) == asked["message_id"]
        assert [c.status for c in telegram.calls_of("sendPhoto")] == [0, 200]
        assert telegram.calls_of("sendPhoto")[-1].files["photo"].data == image
        [row] = bot.rows()
        assert (row["status"], row["units"]) == ("ok", 1)

    async def test_bad_gateway_on_send_photo(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """One 502 from the Bot API on sendPhoto: resent, one photo."""
        telegram.fail_next("sendPhoto", status=502, description="Bad Gateway", retry_after=None)
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, PROMPT)
        [answer] = await wait_answers(telegram, 1, within=15)
        assert "photo" in answer
        assert [c.status for c in telegram.calls_of("sendPhoto")] == [502, 200]

    async def test_upload_that_never_succeeds(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """sendPhoto keeps failing: one sentence for the user, and the unit is not spent."""
        telegram.fail_next(
            "sendPhoto", status=502, description="Bad Gateway", retry_after=None, times=50
        )
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, PROMPT)
        [answer] = await wait_answers(telegram, 1, within=20, settle=1.0)
        one_sentence(answer)
        assert len(telegram.calls_of("sendPhoto")) <= 4  # a few tries, not forever
        [row] = bot.rows()
        assert row["units"] == 0 and row["status"] != "ok", row
        assert problems_in(bot.log) == []

    async def test_connection_dropped_on_a_text_answer(
        self, bot: BotProcess, telegram: ObservedTelegram
    ) -> None:
        """drop_next(sendMessage) on /help: the help text still arrives, once."""
        telegram.drop_next("sendMessage")
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, "/help")
        [answer] = await wait_answers(telegram, 1, within=10)
        assert "/draw" in answer["text"]
        assert problems_in(bot.log) == []


class TestInputDownloads:
    """A Bot API blip while fetching the user's photo does not lose the edit."""

    @pytest.mark.parametrize("fault", ["502", "dropped"])
    async def test_transient_get_file_failure(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway, fault: str
    ) -> None:
        """One failed getFile on a photo edit: fetched again; the edit is delivered."""
        if fault == "502":
            telegram.fail_next("getFile", status=502, description="Bad Gateway", retry_after=None)
        else:
            telegram.drop_next("getFile")
        ann, chat = person(telegram, 1)
        image = png(120, 90, seed=15)
        asked = telegram.send_photo(ann, chat, image, caption="make it blue")
        [answer] = await wait_answers(telegram, 1, within=10)
        assert "photo" in answer and reply_target(answer) == asked["message_id"]
        [request] = gateway.requests
        assert request.images == [image]
        assert problems_in(bot.log) == []

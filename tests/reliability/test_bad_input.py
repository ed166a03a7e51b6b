"""A corpus of awkward input sent to the real bot process.

Each input gets one clear answer or, where Telegram users would expect it, silence; no
handler crashes (no "unhandled error" or traceback in the log), nothing is charged for
input that cannot become an image, and the bot still answers a normal request afterwards.

About long prompts: Telegram itself caps a message at 4096 characters (clients split
longer text), so a 5,000-character prompt cannot arrive in one real message. FakeTelegram
does not enforce that limit on incoming messages, and we push one anyway: the bot must
treat it like any other prompt (forward it intact, answer once) rather than crash.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import corrupt_image, jpeg, png, truncated
from tests.fakes.telegram import detect_entities
from tests.reliability.support import (
    BOT_USERNAME,
    BotProcess,
    ObservedTelegram,
    answers,
    one_sentence,
    person,
    problems_in,
    reply_target,
    wait_answers,
)

JsonDict = dict[str, Any]
MB = 1024 * 1024
GROUP_ID = -1001234567890
CHANNEL_BOT = {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}
ANONYMOUS_ADMIN = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
UNSUPPORTED = "only work with photos and image files"
UNREADABLE = "couldn't read that image"


def huge_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of `width` x `height` (tiny on disk, enormous decoded)."""
    row = b"\x00" + bytes((width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row * 1000) for _ in range(height // 1000))
    idat += compressor.compress(row * (height % 1000)) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@dataclass
class World:
    """The people and chats a corpus item plays with."""

    telegram: ObservedTelegram
    ann: JsonDict
    private: JsonDict
    group: JsonDict

    def media(self, **fields: Any) -> JsonDict:
        return self.telegram.send_message(self.ann, self.private, **fields)

    def document(self, data: bytes, name: str, mime: str, caption: str | None = "edit") -> None:
        self.telegram.send_document(
            self.ann, self.private, data, file_name=name, mime_type=mime, caption=caption
        )

    def text(self, text: str) -> JsonDict:
        return self.telegram.send_text(self.ann, self.private, text)


def file_fields(kind: str, **extra: Any) -> JsonDict:
    return {"file_id": f"{kind}-id", "file_unique_id": f"{kind}-uid", **extra}


Send = Callable[[World], object]


@dataclass(frozen=True)
class Item:
    """An input; what the answer must contain ("a|b": either; None: silence); which chat."""

    send: Send
    says: str | None
    chat: str = "private"


CORPUS: dict[str, Item] = {
    "sticker": Item(
        lambda w: w.media(
            sticker=file_fields(
                "sticker",
                type="regular",
                width=512,
                height=512,
                is_animated=False,
                is_video=False,
            )
        ),
        UNSUPPORTED,
    ),
    "GIF animation": Item(
        lambda w: w.media(
            animation=file_fields(
                "gif", width=320, height=240, duration=3, file_name="fun.gif.mp4"
            ),
            document=file_fields("gif", file_name="fun.gif.mp4", mime_type="video/mp4"),
            caption="make it blue",
        ),
        UNSUPPORTED,
    ),
    "GIF file": Item(
        lambda w: w.document(b"GIF89a" + bytes(64), "a.gif", "image/gif"), UNSUPPORTED
    ),
    "video": Item(
        lambda w: w.media(
            video=file_fields("video", width=640, height=360, duration=5), caption="edit"
        ),
        UNSUPPORTED,
    ),
    "voice": Item(lambda w: w.media(voice=file_fields("voice", duration=2)), UNSUPPORTED),
    "location": Item(
        lambda w: w.media(location={"latitude": 48.85, "longitude": 2.35}), UNSUPPORTED
    ),
    "contact": Item(
        lambda w: w.media(contact={"phone_number": "+33100000000", "first_name": "Zoe"}),
        UNSUPPORTED,
    ),
    "poll": Item(
        lambda w: w.media(
            poll={
                "id": "5000",
                "question": "Cats or dogs?",
                "options": [
                    {"text": "cats", "voter_count": 0, "persistent_id": "o1"},
                    {"text": "dogs", "voter_count": 0, "persistent_id": "o2"},
                ],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
                "allows_revoting": False,
                "members_only": False,
            }
        ),
        UNSUPPORTED,
    ),
    "PDF with a caption": Item(
        lambda w: w.document(b"%PDF-1.4\n%%EOF", "a.pdf", "application/pdf"), UNSUPPORTED
    ),
    "corrupt image file": Item(
        lambda w: w.document(corrupt_image(), "a.png", "image/png"), UNREADABLE
    ),
    "truncated PNG file": Item(
        lambda w: w.document(truncated(png(400, 300, seed=41)), "t.png", "image/png"), UNREADABLE
    ),
    "truncated JPEG file": Item(
        lambda w: w.document(truncated(jpeg(400, 300, seed=42)), "t.jpg", "image/jpeg"),
        UNREADABLE,
    ),
    "0-byte image file": Item(lambda w: w.document(b"", "empty.png", "image/png"), UNREADABLE),
    "25 MB image file": Item(
        lambda w: w.document(b"\x89PNG\r\n\x1a\n" + bytes(25 * MB), "big.png", "image/png"),
        "larger than the 20 MB",
    ),
    "text image file that is not an image": Item(
        lambda w: w.document(b"hello, not a picture", "fake.jpg", "image/jpeg"), UNREADABLE
    ),
    "/help with arguments": Item(lambda w: w.text("/help foo bar"), "/draw <prompt>"),
    "/start with a payload": Item(lambda w: w.text("/start ref-12345"), "/draw <prompt>"),
    "/quota with arguments": Item(lambda w: w.text("/quota bar"), "Today: 0 of 20 used"),
    "/cancel with arguments": Item(lambda w: w.text("/cancel x"), "There is nothing to cancel"),
    "unknown command": Item(lambda w: w.text("/frobnicate now"), "don't know that command"),
    "/draw for another bot": Item(lambda w: w.text("/draw@other_bot a cat"), None),
    "unsupported aspect ratio": Item(
        lambda w: w.text("/draw a cat --ar 99:1"), "Unsupported aspect ratio 99:1"
    ),
    "empty /draw": Item(lambda w: w.text("/draw"), "Tell me what to draw"),
    "channel post": Item(
        lambda w: w.telegram.push_update(
            {
                "channel_post": {
                    "message_id": 7,
                    "sender_chat": {"id": -1009876, "type": "channel", "title": "News"},
                    "chat": {"id": -1009876, "type": "channel", "title": "News"},
                    "date": int(time.time()),
                    "text": "/draw a cat",
                    "entities": detect_entities("/draw a cat"),
                }
            }
        ),
        None,
        "group",
    ),
    "group chatter": Item(lambda w: w.telegram.send_text(w.ann, w.group, "a cat"), None, "group"),
    "bot added to a group": Item(
        lambda w: w.telegram.send_message(w.ann, w.group, new_chat_members=[w.telegram.bot_user]),
        None,
        "group",
    ),
    "pinned message in private": Item(
        lambda w: w.media(
            pinned_message={
                "message_id": 1,
                "from": w.ann,
                "chat": w.private,
                "date": int(time.time()),
                "text": "remember this",
            }
        ),
        None,
    ),
    "prompt of invisible characters only": Item(
        lambda w: w.text("\u200b\u2060\ufeff\u200b"), "Tell me what to draw"
    ),
    "image with 20,000 px sides": Item(
        lambda w: w.document(huge_png(20_000, 20_000), "huge.png", "image/png"),
        "too large|too big|too many pixels",
    ),
}


def corpus_params() -> list[Any]:
    return list(CORPUS)


@pytest.fixture
def world(telegram: ObservedTelegram) -> World:
    ann, private = person(telegram, 1, "Ann", username="ann")
    return World(telegram, ann, private, telegram.group_chat(GROUP_ID, "Testers"))


async def still_serves(bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway) -> None:
    """A normal request after the odd one: one photo, and a clean log."""
    gateway.default = gw.markdown(png(80, 80, seed=43))
    bob, chat = person(telegram, 2, "Bob")
    asked = telegram.send_text(bob, chat, "a normal picture of a cat")
    [answer] = await wait_answers(telegram, 2, settle=0.5)
    assert "photo" in answer and reply_target(answer) == asked["message_id"]
    assert problems_in(bot.log) == [], bot.log


class TestCorpus:
    """One clear answer, or silence where users expect it; nothing charged; no crash."""

    @pytest.mark.parametrize("name", corpus_params())
    async def test_input(
        self,
        bot: BotProcess,
        telegram: ObservedTelegram,
        gateway: FakeGateway,
        world: World,
        name: str,
    ) -> None:
        """The expected sentence (or none), no gateway call, no unit spent."""
        item = CORPUS[name]
        chat_id = world.private["id"] if item.chat == "private" else world.group["id"]
        item.send(world)
        if item.says is None:
            await still_serves(bot, telegram, gateway)  # handled after the odd input
            assert answers(telegram, chat_id) == []
            assert [r["user_id"] for r in bot.rows()] == [2]
        else:
            [answer] = await wait_answers(telegram, chat_id, 1)
            text = answer.get("text", "")
            assert any(says in text for says in item.says.split("|")), text
            if not text.startswith("I turn words") and "Today:" not in text:
                one_sentence(answer)
            assert all(row["units"] == 0 for row in bot.rows())
            await still_serves(bot, telegram, gateway)
        assert len(gateway.requests) == 1  # Bob's normal request only


class TestPromptsArriveIntact:
    """Whatever the prompt holds reaches the gateway as typed, and replies never break."""

    @pytest.mark.parametrize(
        "prompt",
        [
            pytest.param(
                "*bold* _it_ __under__ `code` ```pre``` [link](http://example.com) "
                "~strike~ ||spoiler|| \\escaped\\ #tag",
                id="markdown",
            ),
            pytest.param(
                "<b>bold</b> <i>i</i> &amp; &lt;tag&gt; <script>alert(1)</script> "
                '<a href="http://x">x</a> </pre>',
                id="html",
            ),
            pytest.param(
                "a\u200bb c\u200dd e\u2060f \ufeffg \u200e\u200f zero width", id="zero-width"
            ),
            pytest.param(
                "\u202egnirts desrever\u202c שלום עולם مرحبا بالعالم 🎨👩\u200d🎨", id="rtl"
            ),
            pytest.param(
                ("an extremely detailed medieval castle on a cliff, " * 100)[:5000].strip(),
                id="5000 chars",
            ),
        ],
    )
    async def test_prompt(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway, prompt: str
    ) -> None:
        """The gateway gets the exact text, the ledger stores it, the user gets the photo."""
        ann, chat = person(telegram, 1)
        asked = telegram.send_text(ann, chat, prompt)
        [answer] = await wait_answers(telegram, 1)
        assert "photo" in answer and reply_target(answer) == asked["message_id"]
        [request] = gateway.requests
        assert request.prompt == prompt
        [row] = bot.rows()
        assert (row["prompt"], row["status"]) == (prompt, "ok")
        assert problems_in(bot.log) == []

    async def test_markup_in_a_relayed_answer(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """The model's text with markdown/HTML/RTL goes back verbatim (no parse-mode break)."""
        said = "I won't draw <b>that</b>: *too* _risky_ [see](x) `rule 4` \u202eok\u202c <"
        gateway.enqueue(gw.text(said))
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, "something edgy")
        [answer] = await wait_answers(telegram, 1)
        assert said in answer["text"]
        [call] = telegram.calls_of("sendMessage")
        assert call.ok and "parse_mode" not in call.params
        await still_serves(bot, telegram, gateway)


class TestEditsAndOtherSenders:
    """Edited messages are ignored; channels and anonymous admins are served as the chat."""

    async def test_edited_message_is_ignored(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """Editing a prompt after the answer: no second image, no message."""
        ann, chat = person(telegram, 1)
        asked = telegram.send_text(ann, chat, "a cat")
        await wait_answers(telegram, 1)
        telegram.edit_text(asked, "a dog instead")
        telegram.edit_text(asked, "/draw a horse")
        await wait_answers(telegram, 1, 1, settle=1.5)
        assert len(answers(telegram, 1)) == 1 and len(gateway.requests) == 1
        await still_serves(bot, telegram, gateway)

    @pytest.mark.parametrize(
        ("sender", "sender_chat"),
        [
            pytest.param(
                CHANNEL_BOT,
                {"id": -1009876, "type": "channel", "title": "News", "username": "newschan"},
                id="posting as a channel",
            ),
            pytest.param(
                ANONYMOUS_ADMIN,
                {"id": GROUP_ID, "type": "supergroup", "title": "Testers"},
                id="anonymous admin",
            ),
        ],
    )
    async def test_sender_chat_in_a_group(
        self,
        bot: BotProcess,
        telegram: ObservedTelegram,
        gateway: FakeGateway,
        world: World,
        sender: JsonDict,
        sender_chat: JsonDict,
    ) -> None:
        """`/draw` from a channel identity or an anonymous admin: served, charged to that chat."""
        text = f"/draw@{BOT_USERNAME} a lighthouse"
        asked = telegram.send_message(
            sender, world.group, text=text, entities=detect_entities(text), sender_chat=sender_chat
        )
        [answer] = await wait_answers(telegram, GROUP_ID)
        assert "photo" in answer and reply_target(answer) == asked["message_id"]
        [row] = bot.rows()
        assert (row["user_id"], row["status"], row["units"]) == (sender_chat["id"], "ok", 1)
        assert gateway.requests[0].prompt == "a lighthouse"
        telegram.send_message(
            sender,
            world.group,
            text="/quota",
            entities=detect_entities("/quota"),
            sender_chat=sender_chat,
        )
        got = await wait_answers(telegram, GROUP_ID, 2)
        assert "Today: 1 of 20 used" in got[1]["text"]
        await still_serves(bot, telegram, gateway)

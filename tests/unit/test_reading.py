"""`bot.tg.reading`: a message read once into `Asked`, built from PTB's own types."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import (
    Chat,
    Document,
    ExternalReplyInfo,
    Message,
    MessageOriginChannel,
    PhotoSize,
    User,
)

from bot.domain import Destination
from bot.tg.reading import read_message

ME = User(42, "Flash", is_bot=True, username="flash_test_bot")
ANN = User(1, "Ann", is_bot=False, language_code="en")
FORUM = Chat(-1001, Chat.SUPERGROUP, title="forum", is_forum=True)
NOW = datetime(2026, 12, 3, tzinfo=UTC)


def _message(chat: Chat, text: str, **fields: object) -> Message:
    message = Message(7, NOW, chat, from_user=ANN, text=text, **fields)  # type: ignore[arg-type]
    message.set_bot(None)
    return message


def test_a_topic_message_is_answered_in_its_topic() -> None:
    asked = read_message(
        _message(FORUM, "/draw a fox", message_thread_id=5, is_topic_message=True), ME
    )
    assert asked.destination == Destination(-1001, 7, 5)
    assert asked.owner.thread_id == 5


def test_general_topic_and_reply_threads_carry_no_thread_id() -> None:
    """General (thread 1) refuses a thread id; a reply chain in a plain group is no topic."""
    general = _message(FORUM, "/draw a fox", message_thread_id=1, is_topic_message=True)
    chain = _message(FORUM, "/draw a fox", message_thread_id=3)
    assert read_message(general, ME).destination.thread_id is None
    assert read_message(chain, ME).destination.thread_id is None


def test_an_image_quoted_from_another_chat_is_edited() -> None:
    """ "Reply in another chat": the photo arrives in `external_reply`."""
    origin = MessageOriginChannel(NOW, Chat(-1002, Chat.CHANNEL), 99)
    photo = (PhotoSize("small", "s", 90, 90), PhotoSize("big", "b", 900, 900))
    quoted = ExternalReplyInfo(origin, photo=photo)
    private = Chat(1, Chat.PRIVATE)
    asked = read_message(_message(private, "make it green", external_reply=quoted), ME)
    assert asked.replied_image == "big"
    document = Document("doc", "d", file_name="x.png", mime_type="image/png")
    asked = read_message(
        _message(
            private, "make it green", external_reply=ExternalReplyInfo(origin, document=document)
        ),
        ME,
    )
    assert asked.replied_image == "doc"


def test_an_external_reply_without_an_image_is_plain_text() -> None:
    origin = MessageOriginChannel(NOW, Chat(-1002, Chat.CHANNEL), 99)
    asked = read_message(
        _message(Chat(1, Chat.PRIVATE), "a cat", external_reply=ExternalReplyInfo(origin)), ME
    )
    assert asked.replied_image is None
    assert asked.text == "a cat"

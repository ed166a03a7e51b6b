"""Reading a Telegram message, once, into the plain value the core decides on (`Asked`).

Who asks (the sender, or the chat a channel or an anonymous admin speaks for), where to
answer (the chat, the message, and its forum topic), whether it is for the bot, the command
and the instruction, and the images: the message's own, and the one in the message it
replies to, also when that message is quoted from another chat ("Reply in another chat":
Telegram puts it in `external_reply`). In private chats every message
is for the bot; in groups (SPEC section 2) only a command (`/draw`, `/draw@botname`, also as
a caption), a mention of `@botname` (text or caption entities; the mention is cut from the
instruction) or a reply to one of the bot's own messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath

from telegram import (
    CallbackQuery,
    Document,
    ExternalReplyInfo,
    Message,
    MessageEntity,
    Update,
    User,
)
from telegram.ext import filters

from bot import texts
from bot.domain import Asked, Destination, Requester

#: What the command routes take: new messages (not edits, not channel posts).
NEW_MESSAGES = filters.UpdateType.MESSAGE
#: The General topic's thread id: Telegram refuses it as a `message_thread_id`.
GENERAL_TOPIC = 1
IMAGE_MIME_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/jpg", "image/webp", "image/heic", "image/heif"}
)
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".heic", ".heif"})
#: Message fields that hold media the bot cannot use.
OTHER_MEDIA = (
    "sticker",
    "video",
    "video_note",
    "voice",
    "audio",
    "animation",
    "document",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
)


def read_message(message: Message, me: User) -> Asked:
    """What `message` asks of bot `me`."""
    requester = requester_of(message)
    destination = destination_of(message)
    replied = message.reply_to_message
    replies_to_me = bool(replied and replied.from_user and replied.from_user.id == me.id)
    if message.text is not None:
        text, entities, parse = message.text, message.entities, message.parse_entity
    else:
        text, entities = message.caption or "", message.caption_entities
        parse = message.parse_caption_entity
    addressed = requester.private or replies_to_me
    command: str | None = None
    cuts: list[MessageEntity] = []
    for entity in entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            name, _, target = parse(entity).lstrip("/").partition("@")
            if target and target.lower() != (me.username or "").lower():
                return Asked(requester, destination, addressed=False)  # for another bot
            command = name.lower()
            cuts.append(entity)
            addressed = True
        elif _mentions(entity, parse, me):
            cuts.append(entity)
            addressed = True
    own = image_ref(message)
    return Asked(
        requester,
        destination,
        addressed,
        command,
        _cut(text, cuts).strip(),
        images=(own,) if own else (),
        other_media=int(own is None and _has_other_media(message)),
        replied_image=image_ref(replied or message.external_reply),
    )


def destination_of(message: Message) -> Destination:
    """Answer `message` where it was written: its chat, as a reply, in its topic."""
    return Destination(message.chat_id, message.message_id, topic_of(message))


def topic_of(message: Message) -> int | None:
    """The forum topic of `message`; None outside forums and in the General topic."""
    if message.is_topic_message and message.message_thread_id not in (None, GENERAL_TOPIC):
        return message.message_thread_id
    return None


def message_of(update: Update) -> Message:
    """The update's message (for routes filtered to new messages, it is always there)."""
    message = update.effective_message
    assert message is not None
    return message


def requester_of(message: Message) -> Requester:
    """Who sent the message and where; anonymous admins count as the chat itself."""
    user = message.from_user
    sender = message.sender_chat
    if sender is not None and (user is None or user.is_bot):
        return Requester(sender.id, message.chat_id, message.chat.type, sender.username, "en")
    assert user is not None
    return Requester(
        user.id,
        message.chat_id,
        message.chat.type,
        user.username,
        texts.language(user.language_code),
    )


def presser_of(query: CallbackQuery) -> tuple[Requester, Destination] | None:
    """Who pressed a button, and where its result goes (None if the message is unknown)."""
    message = query.message
    if message is None:
        return None
    user = query.from_user
    chat = message.chat
    requester = Requester(
        user.id, chat.id, chat.type, user.username, texts.language(user.language_code)
    )
    if not isinstance(message, Message):  # too old for Telegram to show it to us
        return requester, Destination(chat.id)
    return requester, Destination(chat.id, message.message_id, topic_of(message))


def image_ref(message: Message | ExternalReplyInfo | None) -> str | None:
    """The `file_id` of the message's image (largest photo size, or an image file)."""
    if message is None:
        return None
    if message.photo:
        return max(message.photo, key=lambda size: size.width * size.height).file_id
    document = message.document
    if document and is_image_document(document):
        return document.file_id
    return None


def is_image_document(document: Document) -> bool:
    """Whether a file looks like an image we can use, by MIME type or name."""
    if (document.mime_type or "").lower() in IMAGE_MIME_TYPES:
        return True
    return PurePosixPath(document.file_name or "").suffix.lower() in IMAGE_EXTENSIONS


def _has_other_media(message: Message) -> bool:
    """Whether the message carries something other than an image (or plain text)."""
    return any(getattr(message, name, None) for name in OTHER_MEDIA)


def _mentions(entity: MessageEntity, parse: Callable[[MessageEntity], str], me: User) -> bool:
    """Whether the entity is an @mention (by name or by user) of the bot."""
    if entity.type == MessageEntity.TEXT_MENTION:
        return entity.user is not None and entity.user.id == me.id
    if entity.type != MessageEntity.MENTION or not me.username:
        return False
    return parse(entity).lstrip("@").lower() == me.username.lower()


def _cut(text: str, entities: list[MessageEntity]) -> str:
    """`text` without the spans of `entities` (UTF-16 offsets, as Telegram counts), tidied."""
    if not entities:
        return text
    raw = text.encode("utf-16-le")
    kept: list[bytes] = []
    pos = 0
    for entity in sorted(entities, key=lambda e: e.offset):
        kept.append(raw[pos : entity.offset * 2])
        pos = (entity.offset + entity.length) * 2
    kept.append(raw[pos:])
    return re.sub(r"[ \t]{2,}", " ", b"".join(kept).decode("utf-16-le", "replace"))

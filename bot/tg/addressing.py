"""Reading a message as an instruction: its command, its prompt, and whether it is for us.

In private chats every message is for the bot. In groups (SPEC section 2) only a command
(`/draw`, `/draw@botname`, also as a caption), a mention of `@botname` (text or caption
entities; the mention is cut from the prompt) or a reply to one of the bot's own messages.
Telegram counts entity offsets in UTF-16 code units, so cutting works on UTF-16.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import Message, MessageEntity, User

IMAGE_COMMANDS = frozenset({"draw", "image", "imagine", "hd"})
HD_COMMAND = "hd"


@dataclass(frozen=True, slots=True)
class Instruction:
    """What a message asks of the bot."""

    addressed: bool
    command: str | None = None
    prompt: str = ""

    @property
    def hd(self) -> bool:
        """Whether the HD model was asked for."""
        return self.command == HD_COMMAND

    @property
    def bare(self) -> bool:
        """Nothing asked: no prompt, no command (images sent like this wait for one)."""
        return not self.prompt and self.command is None

    @property
    def wants_image(self) -> bool:
        """No command, or one of the image commands."""
        return self.command is None or self.command in IMAGE_COMMANDS


def is_private(message: Message) -> bool:
    """Whether the message is in a one-to-one chat with the bot."""
    return message.chat.type == "private"


def read_instruction(message: Message, me: User) -> Instruction:
    """The instruction in the message's text or caption, as seen by bot `me`."""
    text = message.text if message.text is not None else (message.caption or "")
    entities = message.entities if message.text is not None else message.caption_entities
    cuts: list[MessageEntity] = []
    command: str | None = None
    addressed = is_private(message) or _replies_to(message, me)

    for entity in entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            name, _, target = _slice(text, entity).lstrip("/").partition("@")
            if target and target.lower() != (me.username or "").lower():
                return Instruction(addressed=False)  # a command for another bot
            command = name.lower()
            cuts.append(entity)
            addressed = True
        elif _mentions(text, entity, me):
            cuts.append(entity)
            addressed = True
    return Instruction(addressed, command, _cut(text, cuts).strip())


def _replies_to(message: Message, me: User) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == me.id)


def _mentions(text: str, entity: MessageEntity, me: User) -> bool:
    """Whether the entity is an @mention (by name or by user) of the bot."""
    if entity.type == MessageEntity.TEXT_MENTION:
        return entity.user is not None and entity.user.id == me.id
    if entity.type != MessageEntity.MENTION or not me.username:
        return False
    return _slice(text, entity).lstrip("@").lower() == me.username.lower()


def _slice(text: str, entity: MessageEntity) -> str:
    raw = text.encode("utf-16-le")
    start, end = entity.offset * 2, (entity.offset + entity.length) * 2
    return raw[start:end].decode("utf-16-le", "replace")


def _cut(text: str, entities: list[MessageEntity]) -> str:
    """`text` without the spans of `entities`, spaces tidied."""
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

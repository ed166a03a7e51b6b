"""The Bot API methods the bot calls to act: getMe, sends, chat actions, callback answers,
deletions, commands and reactions."""

from __future__ import annotations

import re
from typing import Any

from telegram import User
from telegram.constants import ChatAction

from tests.fakes.telegram import botapi
from tests.fakes.telegram.records import (
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    TEXT_LIMIT,
    ApiError,
    Call,
    JsonDict,
)
from tests.fakes.telegram.users import Users, without_reply
from tests.fakes.telegram.world import detect_entities, utf16_len

CHAT_ACTIONS = frozenset(ChatAction)
#: Entities that hide what Telegram would otherwise detect inside them.
_OPAQUE = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})
_BUTTON = "Bad Request: can't parse inline keyboard button: "


def _formatted(raw: object, entities: object) -> tuple[str, list[JsonDict]]:
    """Text and entities as Telegram stores them: trimmed, with the detected entities."""
    text = "" if raw is None else str(raw)
    if entities is not None and not (
        isinstance(entities, list)
        and all(isinstance(e, dict) and {"type", "offset", "length"} <= e.keys() for e in entities)
    ):
        raise ApiError(400, "Bad Request: can't parse entities JSON object")
    shift = utf16_len(text) - utf16_len(text.lstrip())
    text = text.strip()
    explicit = []
    for entity in entities or ():
        start = max(0, int(entity["offset"]) - shift)
        end = min(utf16_len(text), int(entity["offset"]) + int(entity["length"]) - shift)
        if end > start:
            explicit.append({**entity, "offset": start, "length": end - start})
    opaque = [(e["offset"], e["offset"] + e["length"]) for e in explicit if e["type"] in _OPAQUE]
    detected = [
        e
        for e in detect_entities(text)
        if not any(e["offset"] < end and start < e["offset"] + e["length"] for start, end in opaque)
    ]
    return text, sorted(explicit + detected, key=lambda e: (e["offset"], -e["length"]))


def _check_button(button: object) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise ApiError(400, _BUTTON + 'Field "text" must be of type String')
    if not set(button) - {"text"}:
        raise ApiError(400, _BUTTON + "Text buttons are unallowed in the inline keyboard")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _markup(params: JsonDict) -> JsonDict | None:
    """The validated markup; only inline keyboards are echoed in messages, as Telegram."""
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    keyboard = markup.get("inline_keyboard")
    if keyboard is None:
        return None
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array')
    for row in keyboard:
        for button in row:
            _check_button(button)
    return markup


class Sending(Users):
    """The methods the bot calls to act; `payments.FakeTelegram` adds Telegram Stars."""

    def __init__(
        self,
        token: str = "123456789:TEST-token_for_FakeTelegram",
        *,
        bot_username: str = "flash_test_bot",
        bot_first_name: str = "Flash",
        host: str = "127.0.0.1",
        keep_uploads: bool = True,
    ) -> None:
        super().__init__(token, bot_username, bot_first_name, host, keep_uploads)
        #: Reactions the bot set, by (chat_id, message_id): the ReactionType list.
        self.reactions: dict[tuple[int, int], list[JsonDict]] = {}
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._methods.update(
            getMe=self._get_me,
            sendMessage=self._send_message,
            sendPhoto=self._send_photo,
            sendDocument=self._send_document,
            sendChatAction=self._send_chat_action,
            answerCallbackQuery=self._answer_callback_query,
            deleteMessage=self._delete_message,
            setMyCommands=self._set_my_commands,
            setMessageReaction=self._set_message_reaction,
        )

    def reactions_to(self, chat_id: int, message_id: int) -> list[str]:
        """The emoji the bot reacted to a message with (its current reaction)."""
        return [r["emoji"] for r in self.reactions.get((chat_id, message_id), [])]

    async def _get_me(self, call: Call) -> JsonDict:
        bot = self._bot
        return User(
            bot.id,
            bot.first_name,
            True,
            username=bot.username,
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        ).to_dict()

    # ---------------------------------------------------------------- sending

    def _check_send(self, params: JsonDict) -> tuple[JsonDict, JsonDict]:
        """Validate what every send shares, before anything is stored; answers the chat and
        the message fields that follow from the parameters (topic, reply, markup)."""
        chat = self._chat(params)
        fields: JsonDict = {}
        reply, target = params.get("reply_parameters"), None
        if isinstance(reply, dict):
            key = (chat["id"], reply.get("message_id"))
            target = None if key in self._deleted else self._messages.get(key)  # type: ignore[arg-type]
            if target is not None:
                fields["reply_to_message"] = without_reply(target)
            elif not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
        fields = {**self._placement(chat, params.get("message_thread_id"), target), **fields}
        if (markup := _markup(params)) is not None:
            fields["reply_markup"] = markup
        if params.get("protect_content"):
            fields["has_protected_content"] = True
        self._check_pace(chat["id"])
        return chat, fields

    def _bot_message(self, chat: JsonDict, fields: JsonDict, **content: Any) -> JsonDict:
        message = self._new_message(chat, self.bot_user, **fields, **content)
        self._sent.setdefault(chat["id"], []).append(message)
        return message

    def _caption(self, params: JsonDict) -> JsonDict:
        caption, entities = _formatted(params.get("caption"), params.get("caption_entities"))
        if len(caption) > CAPTION_LIMIT:
            raise ApiError(400, "Bad Request: message caption is too long")
        fields: JsonDict = {"caption": caption} if caption else {}
        if caption and entities:
            fields["caption_entities"] = entities
        if params.get("show_caption_above_media"):
            fields["show_caption_above_media"] = True
        return fields

    async def _send_message(self, call: Call) -> JsonDict:
        chat, fields = self._check_send(call.params)
        text, entities = _formatted(call.params.get("text"), call.params.get("entities"))
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        return self._bot_message(chat, fields, text=text, entities=entities or None)

    async def _send_photo(self, call: Call) -> JsonDict:
        chat, fields = self._check_send(call.params)
        caption = self._caption(call.params)
        sizes = await self._photo_sizes(self._input_file(call, "photo"))
        spoiler = True if call.params.get("has_spoiler") else None
        return self._bot_message(chat, fields, photo=sizes, has_media_spoiler=spoiler, **caption)

    async def _send_document(self, call: Call) -> JsonDict:
        chat, fields = self._check_send(call.params)
        caption = self._caption(call.params)
        document = self._document(self._input_file(call, "document"))
        return self._bot_message(chat, fields, document=document, **caption)

    async def _send_chat_action(self, call: Call) -> bool:
        chat = self._chat(call.params)
        self._placement(chat, call.params.get("message_thread_id"), None)
        if call.params.get("action") not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    # ---------------------------------------------------------------- the rest

    def _message_key(self, params: JsonDict) -> tuple[int, int]:
        message_id = params.get("message_id")  # a non-numeric one reads as 0, as Telegram's
        return self._chat(params)["id"], message_id if isinstance(message_id, int) else 0

    async def _answer_callback_query(self, call: Call) -> bool:
        if call.params.get("callback_query_id") not in self._callback_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(str(call.params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    async def _delete_message(self, call: Call) -> bool:
        key = self._message_key(call.params)
        if key not in self._messages or key in self._deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        self._deleted.add(key)
        return True

    async def _set_my_commands(self, call: Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope = call.params.get("scope") or {"type": "default"}
        key = str(scope.get("type")), str(call.params.get("language_code") or "")
        self.commands[key] = [{k: c[k] for k in ("command", "description")} for c in commands]
        return True

    async def _set_message_reaction(self, call: Call) -> bool:
        key = self._message_key(call.params)
        if key not in self._messages or key in self._deleted:
            raise ApiError(400, "Bad Request: message to react not found")
        reaction = call.params.get("reaction") or []
        if not isinstance(reaction, list):
            raise ApiError(400, "Bad Request: Expected an Array of ReactionType")
        for item in reaction:
            if not isinstance(item, dict) or item.get("type") not in ("emoji", "custom_emoji"):
                raise ApiError(
                    400, "Bad Request: Can't parse ReactionType: invalid reaction type specified"
                )
            if item["type"] != "emoji" or item.get("emoji") not in botapi.REACTION_EMOJI:
                raise ApiError(400, "Bad Request: REACTION_INVALID")
        self.reactions[key] = list(reaction)
        return True

"""World state: users, chats, messages, and what Telegram detects in a text by itself."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from telegram import Chat, Message, TelegramObject, User

from tests.fakes.telegram.files import Files
from tests.fakes.telegram.records import UPGRADED, ApiError, JsonDict


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


_COMMAND = r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])"
_DETECTED = (
    ("bot_command", re.compile(_COMMAND)),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w{1,256}")),
    ("url", re.compile(r"(?<![\w/@.])https?://[^\s<>\"']+", re.IGNORECASE)),
)


def detect_entities(text: str) -> list[JsonDict]:
    """The entities Telegram detects by itself: bot_command, mention, hashtag and url."""
    found: list[tuple[int, int, str]] = []
    for kind, regex in _DETECTED:
        for match in regex.finditer(text):
            start, end = match.span()
            if kind == "url":
                end = start + len(text[start:end].rstrip(".,;:!?)]}'\""))
            if kind != "hashtag" or not text[start + 1 : end].isdigit():
                found.append((start, end, kind))
    entities: list[JsonDict] = []
    taken_until = 0
    for start, end, kind in sorted(found):
        if start >= taken_until:  # else it overlaps an earlier one, e.g. a mention in a URL
            taken_until = end
            offset, length = utf16_len(text[:start]), utf16_len(text[start:end])
            entities.append({"offset": offset, "length": length, "type": kind})
    return entities


def shaped(kind: type[TelegramObject], data: JsonDict) -> JsonDict:
    """``data`` as python-telegram-bot reads and writes a ``kind``: a field PTB does not know
    (it would land in ``api_kwargs``) is a bug of this fake."""
    obj = kind.de_json(data, None)
    if obj is None or obj.api_kwargs:
        raise AssertionError(f"not a Bot API {kind.__name__}: {data}")
    return _as_given(json.loads(obj.to_json()), data)  # type: ignore[no-any-return]


def _as_given(out: Any, given: Any) -> Any:
    """Without the False flags PTB adds (``group_chat_created``...) where Telegram sends none."""
    if isinstance(out, dict) and isinstance(given, dict):
        return {
            k: _as_given(v, given.get(k)) for k, v in out.items() if v is not False or k in given
        }
    if isinstance(out, list) and isinstance(given, list):
        return [_as_given(o, g) for o, g in zip(out, given, strict=False)]
    return out


def _guessed_type(chat_id: int) -> str:
    """The type of a chat the fake never saw, guessed from its id."""
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


class World(Files):
    """Users, chats and every message either side sent, in its current state."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._users: dict[int, JsonDict] = {}
        self._chats: dict[int, JsonDict] = {}
        self._blocked: set[int] = set()
        self._upgraded: dict[int, int] = {}  # basic group -> the supergroup it became
        self._messages: dict[tuple[int, int], JsonDict] = {}
        self._deleted: set[tuple[int, int]] = set()
        self._sent: dict[int, list[JsonDict]] = {}
        self._next_message_id: dict[int, int] = {}

    # ---------------------------------------------------------------- test side

    def user(
        self,
        user_id: int,
        first_name: str = "Ann",
        username: str | None = None,
        language_code: str | None = "en",
    ) -> JsonDict:
        """A Telegram User (and remember it)."""
        user = User(user_id, first_name, False, username=username, language_code=language_code)
        self._users[user_id] = user.to_dict()
        return self._users[user_id]

    def private_chat(self, user: JsonDict) -> JsonDict:
        chat = Chat(user["id"], "private", first_name=user["first_name"])
        return self._add_chat(chat, username=user.get("username"))

    def group_chat(
        self, chat_id: int = -100123, title: str = "Group", type: str = "supergroup"
    ) -> JsonDict:
        return self._add_chat(Chat(chat_id, type, title=title))

    def block(self, chat_id: int) -> None:
        """The user blocked the bot (or the bot was kicked): sends to the chat answer 403."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def sent_messages(self, chat_id: int, *, include_deleted: bool = True) -> list[JsonDict]:
        """Messages the bot sent to ``chat_id``, in order, in their current state."""
        sent = self._sent.get(chat_id, [])
        if include_deleted:
            return list(sent)
        return [m for m in sent if (chat_id, m["message_id"]) not in self._deleted]

    def message(self, chat_id: int, message_id: int) -> JsonDict | None:
        """The current state of any message the fake knows."""
        return self._messages.get((chat_id, message_id))

    def is_deleted(self, chat_id: int, message_id: int) -> bool:
        return (chat_id, message_id) in self._deleted

    def delete(self, message: JsonDict) -> None:
        """A user deletes their message (Telegram tells the bot nothing)."""
        self._deleted.add((message["chat"]["id"], message["message_id"]))

    async def wait_for_sent(
        self,
        chat_id: int,
        *,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline is the point of this helper
    ) -> list[JsonDict]:
        """Wait until the bot has sent ``count`` messages to ``chat_id``; answers them all."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.sent_messages(chat_id)) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} message(s) sent to {chat_id} within {timeout}s, got "
                    f"{len(self.sent_messages(chat_id))}; calls: {self.summary()}"
                )
            await self._calls_changed.wait(remaining)
        return self.sent_messages(chat_id)

    # ---------------------------------------------------------------- shared by the layers

    def _add_chat(self, chat: Chat, **extra: Any) -> JsonDict:
        data = {**chat.to_dict(), **{k: v for k, v in extra.items() if v is not None}}
        self._chats[chat.id] = shaped(Chat, data)
        return self._chats[chat.id]

    def _new_message(
        self, chat: JsonDict, sender: JsonDict, *, lenient: bool = False, **content: Any
    ) -> JsonDict:
        """A Message with the chat's next id, from ``sender``, remembered (not yet pushed).

        ``lenient``: content PTB cannot read (an older or newer Bot API's shape, on purpose)
        is kept as given rather than refused.
        """
        message = {
            "message_id": self._next_message_id.get(chat["id"], 1),
            "from": sender,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        try:
            message = shaped(Message, message)
        except (TypeError, ValueError, KeyError, AssertionError):
            if not lenient:
                raise
        self._register_message(message)
        return message

    def _register_message(self, message: JsonDict) -> None:
        chat = message["chat"]
        self._chats.setdefault(chat["id"], chat)
        sender = message.get("from")
        if sender is not None and not sender.get("is_bot"):
            self._users.setdefault(sender["id"], sender)
        message_id = int(message["message_id"])
        self._messages[(chat["id"], message_id)] = message
        self._next_message_id[chat["id"]] = max(
            self._next_message_id.get(chat["id"], 1), message_id + 1
        )

    def _chat(self, params: JsonDict) -> JsonDict:
        """The chat a method names: 400 if absent, unknown by username or upgraded, 403 if
        the bot was blocked there."""
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str) and chat_id:
            username = chat_id.removeprefix("@")
            chat = next((c for c in self._chats.values() if c.get("username") == username), None)
        elif isinstance(chat_id, int) and not isinstance(chat_id, bool):
            chat = self._chats.setdefault(chat_id, {"id": chat_id, "type": _guessed_type(chat_id)})
        else:
            chat = None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if chat["id"] in self._upgraded:
            raise ApiError(400, UPGRADED, migrate_to_chat_id=self._upgraded[chat["id"]])
        if chat["id"] in self._blocked:
            kind = chat.get("type")
            if kind == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        return chat

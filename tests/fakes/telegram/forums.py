"""Chats that change shape: forum supergroups with topics, basic groups upgraded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from telegram import Chat

from tests.fakes.telegram.records import THREAD_NOT_FOUND, TOPIC_CLOSED, ApiError, JsonDict
from tests.fakes.telegram.updates import Updates

#: Who posts for an anonymous group admin (with ``sender_chat`` the group itself).
ANONYMOUS_ADMIN: JsonDict = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
GENERAL_TOPIC = 1  # the General topic's thread id, which no method accepts


@dataclass
class _Topic:
    name: str
    created: JsonDict  # the forum_topic_created service message
    closed: bool = False
    deleted: bool = False


class Forums(Updates):
    """Topics by chat and thread id; upgraded groups by their old id."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._topics: dict[int, dict[int, _Topic]] = {}

    def forum(
        self, chat_id: int = -1001234, title: str = "Forum", topics: Iterable[str] = ()
    ) -> JsonDict:
        """A supergroup with ``is_forum`` and these topics (see `topics` for their ids); the
        General topic is thread 1, which has no messages of its own."""
        chat = self._add_chat(Chat(chat_id, "supergroup", title=title, is_forum=True))
        self._topics[chat_id] = {}
        self._next_message_id[chat_id] = max(self._next_message_id.get(chat_id, 1), 2)
        for name in topics:
            self.add_topic(chat, name)
        return chat

    def add_topic(self, chat: JsonDict, name: str) -> int:
        """A new topic (created by an anonymous admin, not pushed); answers its thread id,
        the id of its forum_topic_created service message, as in Telegram."""
        thread_id = self._next_message_id.get(chat["id"], 1)
        created = self._new_message(
            chat,
            ANONYMOUS_ADMIN,
            sender_chat=chat,
            message_thread_id=thread_id,
            is_topic_message=True,
            forum_topic_created={"name": name, "icon_color": 0x6FB9F0},
        )
        self._topics[chat["id"]][thread_id] = _Topic(name, created)
        return thread_id

    def topics(self, chat: JsonDict) -> dict[str, int]:
        """Name -> message_thread_id of the forum's topics not deleted."""
        topics = self._topics.get(chat["id"], {})
        return {topic.name: thread for thread, topic in topics.items() if not topic.deleted}

    def close_topic(self, chat: JsonDict, thread_id: int) -> None:
        """Sends to the topic answer 400 TOPIC_CLOSED until `reopen_topic`."""
        self._topics[chat["id"]][thread_id].closed = True

    def reopen_topic(self, chat: JsonDict, thread_id: int) -> None:
        self._topics[chat["id"]][thread_id].closed = False

    def delete_topic(self, chat: JsonDict, thread_id: int) -> None:
        """The topic is gone, with its messages: sends to it answer 400 message thread not
        found."""
        self._topics[chat["id"]][thread_id].deleted = True
        self._deleted.update(
            key
            for key, message in self._messages.items()
            if key[0] == chat["id"] and message.get("message_thread_id") == thread_id
        )

    def upgrade(self, group: JsonDict, *, by: JsonDict | None = None) -> JsonDict:
        """The basic group becomes a supergroup (-100...); answers the new chat.

        Pushes the service messages Telegram sends: ``migrate_to_chat_id`` in the old chat
        and ``migrate_from_chat_id`` in the new one. From then on every method naming the
        old chat answers 400 with ``parameters.migrate_to_chat_id``.
        """
        new_id = int(f"-100{abs(group['id'])}")
        chat = self._add_chat(Chat(new_id, "supergroup", title=group.get("title")))
        user = by or next(iter(self._users.values()), ANONYMOUS_ADMIN)
        moved = self._new_message(group, user, migrate_to_chat_id=new_id)
        arrived = self._new_message(chat, user, migrate_from_chat_id=group["id"])
        self._upgraded[group["id"]] = new_id
        self.push_updates([{"message": moved}, {"message": arrived}])
        return chat

    def _placement(self, chat: JsonDict, thread_id: object, reply: JsonDict | None) -> JsonDict:
        """The topic fields of a message sent to ``chat``; 400 as Telegram for a thread that
        is General, unknown, deleted or closed. A reply goes where its target is."""
        topics = self._topics.get(chat["id"])
        if topics is None:
            return {}  # not a forum: message_thread_id means nothing to place
        if thread_id is None and reply is not None and reply.get("is_topic_message"):
            thread_id = reply.get("message_thread_id")
        if thread_id is None:
            return {}  # General
        topic = topics.get(thread_id) if isinstance(thread_id, int) else None
        if thread_id == GENERAL_TOPIC or topic is None or topic.deleted:
            raise ApiError(400, THREAD_NOT_FOUND)
        if topic.closed:
            raise ApiError(400, TOPIC_CLOSED)
        return {
            "message_thread_id": thread_id,
            "is_topic_message": True,
            # Telegram's quirk: a message in a topic replies to the topic's creation
            "reply_to_message": topic.created,
        }

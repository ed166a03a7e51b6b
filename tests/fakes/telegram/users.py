"""The test side: users write, send photos and documents, reply, edit and press buttons."""

from __future__ import annotations

import time
from typing import Any

from telegram import CallbackQuery, ExternalReplyInfo

from tests.fakes.telegram.forums import Forums
from tests.fakes.telegram.records import ApiError, JsonDict
from tests.fakes.telegram.world import detect_entities, shaped


def without_reply(message: JsonDict) -> JsonDict:
    return {key: value for key, value in message.items() if key != "reply_to_message"}


def _with_entities(fields: JsonDict, text_field: str, entities_field: str) -> JsonDict:
    text = fields.get(text_field)
    entities = detect_entities(text) if text else []
    return {**fields, entities_field: entities} if entities else fields


class Users(Forums):
    """Each method makes the message a Telegram client would send and pushes its update
    (``push=False``: answers the Update, without update_id, to push later)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._callback_queries: set[str] = set()

    def send_text(
        self,
        user: JsonDict,
        chat: JsonDict,
        text: str,
        *,
        external_reply: JsonDict | None = None,
        **options: Any,
    ) -> JsonDict:
        """A user writes ``text`` (entities detected as a Telegram client would); ``options``
        of `send_message`: reply_to, thread, push."""
        fields = _with_entities({"text": text}, "text", "entities")
        return self.send_message(user, chat, external_reply=external_reply, **fields, **options)

    def send_photo(
        self,
        user: JsonDict,
        chat: JsonDict,
        image: bytes,
        *,
        caption: str | None = None,
        **options: Any,
    ) -> JsonDict:
        """A user sends a photo (bytes Pillow can open); ``options`` also media_group_id."""
        return self.send_message(
            user, chat, photo=self._user_photo(image), caption=caption, **options
        )

    def send_document(
        self,
        user: JsonDict,
        chat: JsonDict,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        **options: Any,
    ) -> JsonDict:
        """A user sends a file as a document; ``options`` also caption, media_group_id."""
        stored = self._store_file(data, kind="document", file_name=file_name, mime_type=mime_type)
        return self.send_message(user, chat, document=stored.document(), **options)

    def send_message(
        self,
        user: JsonDict,
        chat: JsonDict,
        *,
        reply_to: JsonDict | None = None,
        thread: int | None = None,
        push: bool = True,
        **fields: Any,
    ) -> JsonDict:
        """A user message with arbitrary content fields (sticker=..., voice=..., ...), in
        topic ``thread`` of a forum (a reply: where its target is; else General).

        Answers the Message when pushed, else the Update (without update_id) to push later.
        """
        self._users.setdefault(user["id"], user)
        self._chats.setdefault(chat["id"], chat)
        content = _with_entities(
            {k: v for k, v in fields.items() if v is not None}, "caption", "caption_entities"
        )
        target = None
        if reply_to is not None:
            current = self._messages.get((reply_to["chat"]["id"], reply_to["message_id"]))
            target = without_reply(current or reply_to)
            content["reply_to_message"] = target
        try:
            placement = self._placement(chat, thread, target)
        except ApiError as exc:
            raise ValueError(f"no open topic {thread} in chat {chat['id']}: {exc}") from None
        message = self._new_message(chat, user, lenient=True, **{**placement, **content})
        update = self.make_update(message=message)
        if not push:
            return update
        self.push_update(update)
        return message

    def external_reply(
        self,
        origin_chat: JsonDict,
        image: bytes,
        *,
        as_document: bool = False,
        file_name: str = "image.png",
        mime_type: str = "image/png",
        sender: JsonDict | None = None,
        message_id: int = 42,
    ) -> JsonDict:
        """An ExternalReplyInfo: a photo (or image document) posted in another chat, for
        ``send_text(..., external_reply=...)``; its file downloads like any other.

        The origin is the channel for a channel post, else the user ``sender``; ``chat`` and
        ``message_id`` are given for supergroups and channels only, as in Telegram.
        """
        date = int(time.time()) - 60
        if origin_chat["type"] == "channel":
            origin = {"type": "channel", "date": date, "chat": origin_chat}
            origin["message_id"] = message_id
        else:
            sender_user = sender or next(iter(self._users.values()))
            origin = {"type": "user", "date": date, "sender_user": sender_user}
        info: JsonDict = {"origin": origin}
        if origin_chat["type"] in ("supergroup", "channel"):
            info.update(chat=origin_chat, message_id=message_id)
        if as_document:
            stored = self._store_file(
                image, kind="document", file_name=file_name, mime_type=mime_type
            )
            info["document"] = stored.document()
        else:
            info["photo"] = self._user_photo(image)
        return shaped(ExternalReplyInfo, info)

    def edit_text(self, message: JsonDict, text: str, *, push: bool = True) -> JsonDict:
        """A user edits their text message: pushes an edited_message update."""
        key = (message["chat"]["id"], message["message_id"])
        edited = {**self._messages.get(key, message), "text": text, "edit_date": int(time.time())}
        edited.pop("entities", None)
        edited = _with_entities(edited, "text", "entities")
        self._messages[key] = edited
        update = self.make_update(edited_message=edited)
        if not push:
            return update
        self.push_update(update)
        return edited

    def press_button(
        self, user: JsonDict, message: JsonDict, data: str, *, push: bool = True
    ) -> JsonDict:
        """A user presses the inline button carrying ``data`` under ``message``.

        Answers the CallbackQuery (the Update when ``push=False``). Raises ValueError when the
        message (in its current state) has no such button.
        """
        key = (message["chat"]["id"], message["message_id"])
        current = self._messages.get(key, message)
        keyboard = (current.get("reply_markup") or {}).get("inline_keyboard")
        if key in self._deleted or not keyboard:
            raise ValueError(f"message {key} has no inline keyboard to press")
        if not any(button.get("callback_data") == data for row in keyboard for button in row):
            raise ValueError(f"message {key} has no button with callback_data={data!r}")
        query_id = str(4_000_000_000_000_000_000 + next(self._ids))
        self._callback_queries.add(query_id)
        query = {
            "id": query_id,
            "from": user,
            "message": dict(current),  # a snapshot: later edits do not change queued updates
            "chat_instance": str((key[0] * 7919 + self.bot_id) & 0x7FFFFFFFFFFFFFFF),
            "data": data,
        }
        query = shaped(CallbackQuery, query)
        update = self.make_update(callback_query=query)
        if not push:
            return update
        self.push_update(update)
        return query

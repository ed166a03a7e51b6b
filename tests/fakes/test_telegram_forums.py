"""The fake Bot API's forums (topics) and upgraded groups, driven by PTB's own `Bot`."""

from __future__ import annotations

import pytest
from telegram import Bot, ReplyParameters
from telegram.error import BadRequest, ChatMigrated

from tests.fakes.telegram import FakeTelegram


async def test_users_post_in_topics_and_in_general(fake: FakeTelegram, bot: Bot) -> None:
    chat = fake.forum(-1005, "Studio", topics=["Cats", "Dogs"])
    cats, dogs = fake.topics(chat)["Cats"], fake.topics(chat)["Dogs"]
    ann = fake.user(1, "Ann")

    in_topic = fake.send_text(ann, chat, "a cat", thread=cats)
    in_general = fake.send_text(ann, chat, "hello all")
    reply = fake.send_text(ann, chat, "a dog", reply_to=fake.send_text(ann, chat, "x", thread=dogs))

    assert chat["is_forum"] is True and cats != dogs
    assert (in_topic["message_thread_id"], in_topic["is_topic_message"]) == (cats, True)
    assert in_topic["reply_to_message"]["forum_topic_created"]["name"] == "Cats"  # as Telegram
    assert "message_thread_id" not in in_general and "is_topic_message" not in in_general
    assert reply["message_thread_id"] == dogs
    messages = [u.message for u in await bot.get_updates()]
    assert [m.message_thread_id for m in messages if m] == [cats, None, dogs, dogs]
    assert [m.is_topic_message for m in messages if m] == [True, None, True, True]


async def test_sends_land_in_the_topic_and_remember_it(fake: FakeTelegram, bot: Bot) -> None:
    chat = fake.forum(topics=["Ideas"])
    ideas = fake.topics(chat)["Ideas"]
    asked = fake.send_text(fake.user(1), chat, "draw", thread=ideas)

    direct = await bot.send_message(chat["id"], "one", message_thread_id=ideas)
    replied = await bot.send_message(
        chat["id"], "two", reply_parameters=ReplyParameters(asked["message_id"])
    )
    general = await bot.send_message(chat["id"], "three")
    assert await bot.send_chat_action(chat["id"], "typing", message_thread_id=ideas)

    assert (direct.message_thread_id, replied.message_thread_id) == (ideas, ideas)
    assert general.message_thread_id is None and not general.is_topic_message
    assert [m.get("message_thread_id") for m in fake.sent_messages(chat["id"])] == [
        ideas,
        ideas,
        None,
    ]


async def test_unknown_general_deleted_and_closed_topics_are_refused(
    fake: FakeTelegram, bot: Bot
) -> None:
    chat = fake.forum(topics=["Open", "Closed", "Gone"])
    ids = fake.topics(chat)
    fake.close_topic(chat, ids["Closed"])
    fake.delete_topic(chat, ids["Gone"])

    for thread in (1, 999, ids["Gone"]):
        with pytest.raises(BadRequest, match=r"^Message thread not found$"):
            await bot.send_message(chat["id"], "x", message_thread_id=thread)
        with pytest.raises(BadRequest, match=r"^Message thread not found$"):
            await bot.send_chat_action(chat["id"], "typing", message_thread_id=thread)
    with pytest.raises(BadRequest, match=r"^Topic_closed$"):
        await bot.send_photo(chat["id"], b"not looked at", message_thread_id=ids["Closed"])
    assert [c.error for c in fake.calls_of("sendPhoto")] == ["Bad Request: TOPIC_CLOSED"]
    assert fake.topics(chat) == {"Open": ids["Open"], "Closed": ids["Closed"]}

    fake.reopen_topic(chat, ids["Closed"])
    assert await bot.send_message(chat["id"], "open again", message_thread_id=ids["Closed"])
    with pytest.raises(ValueError, match="no open topic"):
        fake.send_text(fake.user(1), chat, "x", thread=ids["Gone"])


async def test_upgraded_group_answers_migrate_to_chat_id(fake: FakeTelegram, bot: Bot) -> None:
    ann = fake.user(1, "Ann")
    group = fake.group_chat(-4242, "Old", type="group")
    asked = fake.send_text(ann, group, "/draw")

    supergroup = fake.upgrade(group)

    assert supergroup == {"id": -1004242, "type": "supergroup", "title": "Old"}
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(group["id"], "reply", reply_to_message_id=asked["message_id"])
    assert caught.value.new_chat_id == -1004242
    with pytest.raises(ChatMigrated):
        await bot.send_chat_action(group["id"], "typing")
    body = fake.calls_of("sendMessage")[-1]
    assert (
        body.status == 400
        and body.error == "Bad Request: group chat was upgraded to a supergroup chat"
    )
    migrated = [u.message for u in await bot.get_updates()][1:]
    assert [(m.chat.id, m.migrate_to_chat_id, m.migrate_from_chat_id) for m in migrated if m] == [
        (-4242, -1004242, None),
        (-1004242, None, -4242),
    ]
    assert (await bot.send_message(supergroup["id"], "here")).chat.id == -1004242

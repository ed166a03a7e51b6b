"""The fake Bot API's transport: conformance to Bot API 10.0, outages, pacing, reactions,
external replies and identity, over real HTTP."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import Image
from telegram import Bot, ReactionTypeCustomEmoji
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter

from tests.fakes.telegram import FakeTelegram
from tests.support.bot import FAKE_TOKEN as TOKEN


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
async def http(fake: FakeTelegram) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{fake.url}/bot{TOKEN}/") as client:
        yield client


async def test_unknown_and_missing_parameters_are_violations(
    fake: FakeTelegram, http: httpx.AsyncClient
) -> None:
    misspelt = await http.post("sendMessage", data={"chat_id": 1, "txt": "hi"})
    missing = await http.post("sendChatAction", data={"chat_id": 1})
    no_chat = await http.post("sendMessage", json={"text": "hi"})
    old = await http.post("sendMessage", json={"chat_id": 1, "text": "x", "reply_to_message_id": 1})

    assert misspelt.status_code == 400
    assert (
        misspelt.json()["description"]
        == 'Bad Request: parameter "txt" is not in Bot API 10.0 sendMessage'
    )
    assert missing.json() == {
        "ok": False,
        "error_code": 400,
        "description": 'Bad Request: Parameter "action" is required',
    }
    assert no_chat.json()["description"] == "Bad Request: chat_id is empty"
    assert old.status_code == 400
    assert fake.violations == [
        "sendMessage: unknown parameter 'txt'",
        "sendMessage: missing required parameter 'text'",
        "sendChatAction: missing required parameter 'action'",
        "sendMessage: missing required parameter 'chat_id'",
        "sendMessage: unknown parameter 'reply_to_message_id'",
    ]
    assert fake.sent_messages(1) == []


async def test_parse_mode_and_unemulated_methods(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="not supported by this fake"):
        await bot.send_message(1, "<b>hi</b>", parse_mode="HTML")
    with pytest.raises(InvalidToken, match=r"^Not Found: method not found$"):  # PTB's mapping
        await bot.get_chat(1)  # a real method the bot never calls
    assert fake.violations == [
        "sendMessage: parse_mode 'HTML'",
        "getChat: not emulated by this fake",
    ]


async def test_wrong_token_and_get_me(fake: FakeTelegram, bot: Bot) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{fake.url}/bot1:wrong/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456789, True, "flash_test_bot")
    assert me.can_join_groups and me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False and me.has_main_web_app is False


async def test_down_answers_nginx_502_everywhere(fake: FakeTelegram, bot: Bot) -> None:
    identity = fake.add_file(b"bytes", file_name="a.bin")
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)

    fake.go_down()

    with pytest.raises(NetworkError, match="Bad Gateway"):
        await asyncio.wait_for(poll, 5)  # a waiting long poll ends with the 502 too
    async with httpx.AsyncClient() as client:
        api = await client.post(f"{fake.url}/bot{TOKEN}/getMe")
        file = await client.get(f"{fake.url}/file/bot{TOKEN}/{identity['file_path']}")
    for response in (api, file):
        assert response.status_code == 502
        assert response.headers["content-type"].startswith("text/html")
        assert "<center><h1>502 Bad Gateway</h1></center>" in response.text
    assert [c.status for c in fake.calls_of("getMe")] == [200, 502]  # Bot.initialize, then ours

    fake.come_up()
    assert (await bot.get_me()).id == fake.bot_id


async def test_pacing_answers_429_with_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    fake.pace(7, per_second=0.5)

    await bot.send_message(7, "one")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(7, "two")
    assert await bot.send_chat_action(7, "typing")  # not limited
    await bot.send_message(8, "another chat is not paced")

    assert caught.value.retry_after in (2, 2.0) or caught.value.retry_after.total_seconds() == 2  # type: ignore[union-attr]
    assert fake.calls_of("sendMessage")[1].error == "Too Many Requests: retry after 2"
    fake.pace(None, per_second=20)  # every chat
    await asyncio.sleep(0.1)
    await bot.send_message(8, "a")
    with pytest.raises(RetryAfter):
        await bot.send_message(8, "b")
    fake.pace(None, per_second=None)
    fake.pace(7, per_second=None)
    for text in ("c", "d"):
        await bot.send_message(7, text)


async def test_reactions_are_checked_and_recorded(fake: FakeTelegram, bot: Bot) -> None:
    ann = fake.user(1, "Ann")
    asked = fake.send_text(ann, fake.private_chat(ann), "draw")

    assert await bot.set_message_reaction(1, asked["message_id"], "👀")
    with pytest.raises(BadRequest, match=r"^Reaction_invalid$"):
        await bot.set_message_reaction(1, asked["message_id"], "🦖")
    with pytest.raises(BadRequest, match=r"^Reaction_invalid$"):
        await bot.set_message_reaction(1, asked["message_id"], ReactionTypeCustomEmoji("5"))
    with pytest.raises(BadRequest, match=r"(?i)message to react not found"):
        await bot.set_message_reaction(1, 999, "👀")

    assert fake.reactions_to(1, asked["message_id"]) == ["👀"]
    assert await bot.set_message_reaction(1, asked["message_id"])  # clears
    assert fake.reactions_to(1, asked["message_id"]) == []


async def test_external_reply_carries_a_downloadable_image(fake: FakeTelegram, bot: Bot) -> None:
    ann = fake.user(1, "Ann")
    channel = fake.group_chat(-1009, "Pictures", type="channel")
    image = png()

    fake.send_text(
        ann,
        fake.private_chat(ann),
        "make it blue",
        external_reply=fake.external_reply(channel, image),
    )
    fake.send_text(
        ann,
        fake.private_chat(ann),
        "and this",
        external_reply=fake.external_reply(
            fake.private_chat(fake.user(2, "Bo")), image, as_document=True
        ),
    )

    first, second = [u.message for u in await bot.get_updates()]
    assert first is not None and first.external_reply is not None
    external = first.external_reply
    assert external.origin.type == "channel" and external.chat is not None
    assert (external.chat.id, external.message_id) == (-1009, 42)
    assert external.photo is not None
    photo = external.photo[-1]
    assert bytes(await (await bot.get_file(photo.file_id)).download_as_bytearray()) == image
    assert second is not None and second.external_reply is not None
    other = second.external_reply
    assert other.origin.type == "user" and other.chat is None and other.document is not None
    assert other.document.mime_type == "image/png"
    assert (
        bytes(await (await bot.get_file(other.document.file_id)).download_as_bytearray()) == image
    )


async def test_hooks_see_requests_answers_and_batches(fake: FakeTelegram, bot: Bot) -> None:
    seen: list[str] = []
    fake.hooks.request.append(lambda call: seen.append(f"asked {call.method}"))
    fake.hooks.response.append(lambda call: seen.append(f"answered {call.method} {call.status}"))
    fake.hooks.updates.append(lambda batch: seen.append(f"handed {len(batch)}"))
    ann = fake.user(1)
    fake.send_text(ann, fake.private_chat(ann), "hi")
    started = time.monotonic()

    await bot.get_updates()

    assert seen == ["asked getUpdates", "handed 1", "answered getUpdates 200"]
    assert time.monotonic() - started < 2

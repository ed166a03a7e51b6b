"""Tests of the fake Bot API server, driven by python-telegram-bot's own `Bot`."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import io
import os
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
)
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter

from tests.fakes.telegram import FakeTelegram
from tests.support.bot import FAKE_TOKEN as TOKEN

MB = 1024 * 1024


def jpeg(width: int, height: int, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG")
    return out.getvalue()


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")
    return out.getvalue()


def ann(fake: FakeTelegram) -> tuple[dict[str, Any], dict[str, Any]]:
    user = fake.user(1001, "Ann", username="ann")
    return user, fake.private_chat(user)


# ------------------------------------------------------------------------------ basics


async def test_get_me(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456789 == fake.bot_id
    assert me.username == "flash_test_bot"
    assert me.first_name == "Flash"
    assert me.can_join_groups and not me.can_read_all_group_messages
    assert fake.calls_of("getMe")[-1].status == 200


async def test_wrong_token_and_unknown_method_with_a_raw_client(fake: FakeTelegram) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake.url}/bot1:wrong/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{fake.url}/bot{TOKEN}/noSuchMethod") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found: method not found"
        # JSON body and GET query strings are accepted too
        body = {"chat_id": 5, "text": "json body"}
        async with http.post(f"{fake.url}/bot{TOKEN}/sendMessage", json=body) as response:
            assert (await response.json())["result"]["text"] == "json body"
        async with http.get(f"{fake.url}/bot{TOKEN}/sendMessage?chat_id=5&text=q") as response:
            assert (await response.json())["result"]["chat"] == {"id": 5, "type": "private"}
    assert [m["text"] for m in fake.sent_messages(5)] == ["json body", "q"]


# ------------------------------------------------------------------------------ updates


async def test_user_photo_arrives_through_get_updates(fake: FakeTelegram, bot: Bot) -> None:
    user, chat = ann(fake)
    image = jpeg(1200, 800)
    pushed = fake.send_photo(user, chat, image, caption="/draw a cat")

    updates = await bot.get_updates(timeout=2)

    assert [u.update_id for u in updates] == [1]
    message = updates[0].message
    assert message is not None and message.message_id == pushed["message_id"]
    assert message.caption == "/draw a cat"
    assert message.caption_entities[0].type == MessageEntity.BOT_COMMAND
    thumb, full = message.photo
    assert max(thumb.width, thumb.height) <= 90
    assert (full.width, full.height) == (1200, 800)
    file = await bot.get_file(full.file_id)
    assert bytes(await file.download_as_bytearray()) == image
    small = await (await bot.get_file(thumb.file_id)).download_as_bytearray()
    assert Image.open(io.BytesIO(small)).size == (thumb.width, thumb.height)


async def test_long_poll_returns_as_soon_as_an_update_is_pushed(
    fake: FakeTelegram, bot: Bot
) -> None:
    user, chat = ann(fake)
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()
    fake.send_text(user, chat, "hello")

    updates = await asyncio.wait_for(poll, 5)

    assert [u.message.text for u in updates if u.message] == ["hello"]
    assert time.monotonic() - started < 3


async def test_long_poll_times_out_empty(fake: FakeTelegram, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3
    assert fake.get_updates_count == 1


async def test_offset_confirms_updates(fake: FakeTelegram, bot: Bot) -> None:
    user, chat = ann(fake)
    for text in ("one", "two", "three"):
        fake.send_text(user, chat, text)

    first = await bot.get_updates(limit=2)
    again = await bot.get_updates()
    after = await bot.get_updates(offset=first[-1].update_id + 1)
    done = await bot.get_updates(offset=after[-1].update_id + 1)

    assert [u.update_id for u in first] == [1, 2]
    assert [u.update_id for u in again] == [1, 2, 3]  # nothing confirmed yet
    assert [u.message.text for u in after if u.message] == ["three"]
    assert done == ()


async def test_push_updates_arrive_in_one_batch(fake: FakeTelegram, bot: Bot) -> None:
    user, chat = ann(fake)
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    album = [
        fake.send_photo(user, chat, jpeg(200, 100), media_group_id="g1", push=False),
        fake.send_photo(user, chat, jpeg(100, 200), media_group_id="g1", push=False),
    ]
    fake.push_updates(album)

    updates = await asyncio.wait_for(poll, 5)

    assert [u.update_id for u in updates] == [1, 2]
    assert {u.message.media_group_id for u in updates if u.message} == {"g1"}


async def test_a_second_poll_ends_the_first_with_conflict(fake: FakeTelegram, bot: Bot) -> None:
    other = Bot(TOKEN, base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot")
    async with other:  # PTB allows one getUpdates at a time per Bot: use a second instance
        first = asyncio.create_task(other.get_updates(timeout=10))
        await asyncio.sleep(0.1)
        assert await bot.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates request"):
            await asyncio.wait_for(first, 5)


# ------------------------------------------------------------------------------ limits


async def test_photo_over_10_mb_is_request_entity_too_large(fake: FakeTelegram, bot: Bot) -> None:
    big = jpeg(100, 100) + b"\0" * (10 * MB)  # decoders ignore trailing bytes

    with pytest.raises(NetworkError, match="Request Entity Too Large") as caught:
        await bot.send_photo(1, big)

    assert not isinstance(caught.value, BadRequest)  # PTB maps 413 to a plain NetworkError
    call = fake.calls_of("sendPhoto")[-1]
    assert call.status == 413
    assert len(call.files["photo"].data) == len(big)
    assert fake.sent_messages(1) == []


async def test_photo_with_invalid_dimensions(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)PHOTO_INVALID_DIMENSIONS"):
        await bot.send_photo(1, png(9000, 2000))
    with pytest.raises(BadRequest, match=r"(?i)PHOTO_INVALID_DIMENSIONS"):
        await bot.send_photo(1, png(2100, 100))  # ratio 21


async def test_photo_that_is_not_an_image(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(1, b"definitely not an image")


async def test_sent_photo_has_thumbnail_and_exact_full_size(fake: FakeTelegram, bot: Bot) -> None:
    image = jpeg(2000, 1000)
    message = await bot.send_photo(42, image, caption="done")

    thumb, full = message.photo
    assert (thumb.width, thumb.height) == (90, 45)
    assert (full.width, full.height, full.file_size) == (2000, 1000, len(image))
    assert fake.file_bytes(full.file_id) == image
    again = await bot.send_photo(42, full.file_id)  # a file_id is reused, not re-uploaded
    assert again.photo[-1].file_id == full.file_id
    assert [m["message_id"] for m in fake.sent_messages(42)] == [1, 2]


async def test_12_mb_document_round_trip(fake: FakeTelegram, bot: Bot) -> None:
    data = os.urandom(12 * MB)

    message = await bot.send_document(7, data, filename="result.png", caption="here")

    document = message.document
    assert document is not None
    assert (document.file_name, document.mime_type) == ("result.png", "image/png")
    assert document.file_size == len(data)
    file = await bot.get_file(document.file_id)
    assert bytes(await file.download_as_bytearray()) == data


async def test_document_over_50_mb_is_too_large(bot: Bot) -> None:
    with pytest.raises(NetworkError, match="Request Entity Too Large"):
        await bot.send_document(7, b"\0" * (50 * MB + 1), filename="big.bin")


async def test_get_file_over_20_mb(fake: FakeTelegram, bot: Bot) -> None:
    identity = fake.add_file(b"\0" * (21 * MB), file_name="huge.jpg", mime_type="image/jpeg")

    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(identity["file_id"])
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


# ------------------------------------------------------------------------------ faults


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_fail_next_answers_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage")

    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "hi")
    assert caught.value.retry_after in (1, dtm.timedelta(seconds=1))

    await bot.send_message(1, "hi")
    assert [c.status for c in fake.calls_of("sendMessage")] == [429, 200]
    assert [m["text"] for m in fake.sent_messages(1)] == ["hi"]


async def test_fail_next_with_custom_error_and_times(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next(
        "sendChatAction", status=502, description="Bad Gateway", retry_after=None, times=2
    )
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_chat_action(1, "typing")
    assert await bot.send_chat_action(1, "typing") is True


async def test_drop_next_closes_the_connection(fake: FakeTelegram, bot: Bot) -> None:
    fake.drop_next("sendPhoto")

    with pytest.raises(NetworkError):
        await bot.send_photo(1, jpeg(50, 50))
    message = await bot.send_photo(1, jpeg(50, 50))

    assert [c.status for c in fake.calls_of("sendPhoto")] == [0, 200]
    assert len(message.photo) == 1  # no thumbnail for an image smaller than one
    assert len(fake.sent_messages(1)) == 1


async def test_delay_holds_the_answer(fake: FakeTelegram, bot: Bot) -> None:
    fake.delay("getMe", 0.3)
    started = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - started >= 0.3
    fake.delay("getMe", 0)
    started = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - started < 0.3


async def test_handler_errors_answer_500(fake: FakeTelegram, bot: Bot) -> None:
    async def broken(call: object) -> None:
        raise RuntimeError("boom")

    fake._methods["getMe"] = broken

    with pytest.raises(NetworkError, match="boom"):
        await bot.get_me()
    assert fake.calls_of("getMe")[-1].status == 500
    assert "RuntimeError: boom" in fake.handler_errors[-1]
    assert await bot.send_message(1, "still serving")


# ------------------------------------------------------------------------------ messages


async def test_utf16_entities_in_pushed_text(fake: FakeTelegram, bot: Bot) -> None:
    user, chat = ann(fake)
    pushed = fake.send_text(user, chat, "🙂 @flash_test_bot hi 你好 /help")
    assert pushed["entities"] == [
        {"offset": 3, "length": 15, "type": "mention"},
        {"offset": 25, "length": 5, "type": "bot_command"},
    ]
    message = (await bot.get_updates())[0].message
    assert message is not None
    assert list(message.parse_entities().values()) == ["@flash_test_bot", "/help"]


async def test_commands_in_groups(fake: FakeTelegram) -> None:
    user = fake.user(5, "Bo")
    group = fake.group_chat()
    pushed = fake.send_text(user, group, "/draw@flash_test_bot a fox")
    assert pushed["entities"] == [{"offset": 0, "length": 20, "type": "bot_command"}]
    assert pushed["chat"] == {"id": -100123, "title": "Group", "type": "supergroup"}


async def test_reply_keyboard_button_and_delete(fake: FakeTelegram, bot: Bot) -> None:
    user, chat = ann(fake)
    prompt = fake.send_text(user, chat, "a cat")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Again", callback_data="again:1")]])
    sent = await bot.send_message(
        chat["id"], "Here you go", reply_to_message_id=prompt["message_id"], reply_markup=keyboard
    )
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.text == "a cat"
    assert sent.message_id == prompt["message_id"] + 1

    query = fake.press_button(user, fake.sent_messages(chat["id"])[-1], "again:1")
    update = (await bot.get_updates(offset=2))[0]
    assert update.callback_query is not None and update.callback_query.data == "again:1"
    assert await bot.answer_callback_query(query["id"], text="ok")
    with pytest.raises(ValueError, match="no button"):
        fake.press_button(user, fake.sent_messages(chat["id"])[-1], "nope")

    assert await bot.delete_message(chat["id"], sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(chat["id"], sent.message_id)
    assert fake.sent_messages(chat["id"], include_deleted=False) == []


async def test_reply_to_unknown_message(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(1, "hi", reply_to_message_id=77)
    sent = await bot.send_message(1, "hi", reply_to_message_id=77, allow_sending_without_reply=True)
    assert sent.reply_to_message is None


async def test_text_limits(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(1, "   ")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_photo(1, jpeg(10, 10), caption="x" * 1025)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(1, "hi", reply_markup=too_long)
    assert (await bot.send_message(1, "  padded  ")).text == "padded"


async def test_blocked_user(fake: FakeTelegram, bot: Bot) -> None:
    fake.block(9)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(9, "hi")


async def test_commands_are_stored_per_scope_and_language(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([("draw", "Draw a picture"), ("help", "Help")])
    await bot.set_my_commands([("hilfe", "Hilfe")], language_code="de")
    assert [c["command"] for c in fake.commands["default", ""]] == ["draw", "help"]
    assert [c["command"] for c in fake.commands["default", "de"]] == ["hilfe"]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Draw", "uppercase is refused")])


async def test_wait_for_is_event_driven_and_explains_failures(fake: FakeTelegram, bot: Bot) -> None:
    waiter = asyncio.create_task(fake.wait_for("sendMessage", count=2))
    await bot.send_message(1, "a")
    assert not waiter.done()
    await bot.send_message(1, "b")
    calls = await asyncio.wait_for(waiter, 5)
    assert [c.params["text"] for c in calls] == ["a", "b"]

    with pytest.raises(AssertionError, match=r"expected 1 sendPhoto.*sendMessage\(200\)"):
        await fake.wait_for("sendPhoto", timeout=0.1)


# ------------------------------------------------------------------------------ webhook


async def test_webhook_delivery_and_conflict(fake: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        user, chat = ann(fake)
        fake.send_text(user, chat, "before")  # pending updates go out when the hook is set
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        fake.send_text(user, chat, "after")
        await fake.drain_webhook()

        assert fake.webhook_deliveries == [200, 200]
        assert {secret for secret, _ in received} == {"s3cret"}
        assert sorted(body["message"]["text"] for _, body in received) == ["after", "before"]
        assert fake.webhook_url is not None and fake.pending_updates == []
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()

        assert await bot.delete_webhook()
        fake.send_text(user, chat, "polled")
        assert [u.message.text for u in await bot.get_updates() if u.message] == ["polled"]
    finally:
        await runner.cleanup()


async def test_a_poll_abandoned_by_its_client_is_recorded_as_unanswered(
    fake: FakeTelegram, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    poll.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await poll
    await asyncio.sleep(0.1)  # let the server notice the disconnect
    await bot.get_updates()  # supersedes the abandoned poll

    statuses = [c.status for c in await fake.wait_for("getUpdates", count=2)]
    assert sorted(statuses) == [0, 200]

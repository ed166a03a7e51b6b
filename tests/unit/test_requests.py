"""`bot.tg.requests`: PTB's requests on aiohttp keep PTB's meaning of failures."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from telegram import Bot, InputFile
from telegram.error import NetworkError, TimedOut

from bot.tg.requests import UPLOAD_PIECE, AiohttpRequest
from bot.tg.sending import may_resend
from tests.fakes.images import big_png
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import TOKEN

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def call(url: str, read_timeout: float = 5.0) -> tuple[int, bytes]:
    request = AiohttpRequest(url, connections=1, read_timeout=read_timeout, connect_timeout=2.0)
    await request.initialize()
    try:
        return await request.do_request(f"{url}/botTOKEN/getMe", "POST")
    finally:
        await request.shutdown()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_a_hang_up_is_a_network_error_not_a_timeout(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    """A dropped long poll: PTB's Updater must wait before it polls again."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    with pytest.raises(NetworkError) as caught:
        await call(await serve(hang_up))
    assert not isinstance(caught.value, TimedOut)


async def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(NetworkError) as caught:
            await call(url)
    assert not isinstance(caught.value, TimedOut)


async def test_a_silent_server_times_out(serve: Callable[[Handler], Awaitable[str]]) -> None:
    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(5)

    with pytest.raises(TimedOut):
        await call(await serve(say_nothing), read_timeout=0.2)


async def test_an_answer_comes_back_with_its_status(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    body = b'{"ok":false,"error_code":401,"description":"Unauthorized"}'

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = f"HTTP/1.1 401 Unauthorized\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()

    assert await call(await serve(refuse)) == (401, body)


async def test_uploads_arrive_whole_with_their_names_and_types() -> None:
    """A file of several pieces, and a photo beside a caption, reach the Bot API byte for
    byte, each with its name and type."""
    document = big_png(UPLOAD_PIECE * 3 + 1, width=800, height=600, seed=7)
    photo = big_png(UPLOAD_PIECE // 2, width=300, height=200, seed=8)
    async with FakeTelegram(token=TOKEN) as telegram:
        user = telegram.user(71, "Ann")
        chat_id = telegram.private_chat(user)["id"]
        request = AiohttpRequest(telegram.url, connections=2, read_timeout=10.0)
        base = telegram.url
        async with Bot(
            TOKEN, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot", request=request
        ) as bot:
            upload = InputFile(document, filename="image-1-1.png", attach=True)
            await bot.send_document(chat_id, upload, caption="original")
            await bot.send_photo(chat_id, photo, caption="preview")
        sent = {call.method: call for call in telegram.calls if call.method.startswith("send")}

    file = sent["sendDocument"].files["document"]  # sent as attach://<name>
    assert (file.data, file.filename, file.content_type) == (document, "image-1-1.png", "image/png")
    assert sent["sendDocument"].params["caption"] == "original"
    assert sent["sendPhoto"].files["photo"].data == photo
    assert sent["sendPhoto"].params["caption"] == "preview"


async def test_time_outs_say_whether_the_request_left(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    """Waiting for a free connection runs out before anything is sent: that send may go
    out again; an answer that never came may not (Telegram may have acted on it)."""

    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(5)

    url = await serve(say_nothing)
    request = AiohttpRequest(url, connections=1, read_timeout=0.5, pool_timeout=0.2)
    await request.initialize()
    try:
        first = asyncio.create_task(request.do_request(f"{url}/botTOKEN/sendPhoto", "POST"))
        await asyncio.sleep(0.05)  # the only connection is taken
        with pytest.raises(TimedOut) as waited:
            await request.do_request(f"{url}/botTOKEN/sendPhoto", "POST")
        with pytest.raises(TimedOut) as unanswered:
            await first
    finally:
        await request.shutdown()
    assert may_resend(waited.value)
    assert not may_resend(unanswered.value)

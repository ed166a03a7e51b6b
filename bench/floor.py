"""The floor: the bot's HTTP work for one request, done by the smallest possible client.

For one image request the bot makes three HTTP calls that matter to the user:

1. `POST {gateway}/v1/chat/completions` with the prompt (JSON);
2. `GET` the image the answer links to (markdown link);
3. `POST {telegram}/bot<token>/sendPhoto`, multipart/form-data, with the image bytes.

This module makes exactly those calls with hand-written HTTP/1.1 over raw
`asyncio.open_connection` streams: keep-alive connections, Content-Length bodies, the
multipart body written as a list of chunks (the image is never copied), no HTTP library,
no bot framework, no image checks, no ledger. It runs in a process of its own, like the
bot, and talks to the very same fakes (which run in the benchmark process), so the fakes'
cost and the machine's speed and noise are in both measurements. What remains between the
bot and the floor is what the bot adds: PTB, httpx, the transport, the ledger, image
checks, logging. Hence the ratio bot/floor is the benchmark's main yardstick.

The benchmark spawns `python -m bench.floor <mode> …` (`bench.harness.floor`); it prints
one JSON line with its monotonic timestamps (the clock is shared by every process on Linux),
and the benchmark matches them with the fake's records of the same `sendPhoto` calls:

* `sequential`: K requests one after the other on one pair of keep-alive connections, chat
  ids `chat_base + i`; prints when each started;
* `concurrent`: N requests at once, each on its own new connections (N concurrent
  connections to each fake); prints when they were launched;
* `poll`: one `getUpdates` call and exit: an interpreter reaching the fake, the baseline of
  the start-up row.

Every mode also prints `cpu_s`, the CPU time its work took in the floor's process, to set
beside the bot process's CPU time for the same work: a figure the shared fakes cannot blur.

This module imports only the standard library, so the floor's start-up is a bare
interpreter's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

PROMPT = "a lighthouse at dusk, watercolor"
MODEL = "gemini-2.5-flash-image"


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response: status, lower-cased headers, body."""

    status: int
    headers: dict[str, str]
    body: bytes


class HttpError(RuntimeError):
    """A fake answered something the floor did not expect."""


class Connection:
    """One keep-alive HTTP/1.1 connection to `host:port`, opened on first use."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: Sequence[bytes] = (),
    ) -> Response:
        """Send a request whose body is the concatenation of `body`; read the response."""
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        length = sum(len(chunk) for chunk in body)
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        head.append(f"Content-Length: {length}")
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        for chunk in body:
            self._writer.write(chunk)
        await self._writer.drain()
        response = await _read_response(self._reader)
        if response.headers.get("connection", "").lower() == "close":
            await self.close()
        return response

    async def close(self) -> None:
        """Close the connection, if open."""
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _read_response(reader: asyncio.StreamReader) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    for line in header_lines:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return Response(status, headers, await _read_chunked(reader))
    length = int(headers.get("content-length", "0"))
    return Response(status, headers, await reader.readexactly(length))


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while size := int((await reader.readline()).split(b";")[0], 16):
        chunks.append(await reader.readexactly(size))
        await reader.readline()
    await reader.readline()
    return b"".join(chunks)


# --------------------------------------------------------------------------------------------
# One request, as the bot does it
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fakes:
    """Where the fakes are, and the credentials they want."""

    gateway_url: str
    telegram_url: str
    token: str
    api_key: str

    def connect(self, url: str) -> Connection:
        """A new connection to the server of `url`."""
        parts = urlsplit(url)
        return Connection(parts.hostname or "127.0.0.1", parts.port or 80)


def completion_body(prompt: str = PROMPT) -> bytes:
    """The bot's text-to-image request body (SPEC section 1)."""
    body = {
        "model": MODEL,
        "group": "default",
        "stream": False,
        "messages": [{"role": "user", "content": prompt}],
    }
    return json.dumps(body, ensure_ascii=False).encode()


def image_link(answer: bytes) -> str:
    """The first markdown image link of a chat-completion answer."""
    content = json.loads(answer)["choices"][0]["message"]["content"]
    start = content.index("](") + 2
    return str(content[start : content.index(")", start)])


def multipart(fields: dict[str, str], name: str, data: bytes) -> tuple[str, list[bytes]]:
    """A multipart/form-data body as chunks (the file is not copied), and its content type."""
    boundary = uuid.uuid4().hex
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    chunks.append(
        f"--{boundary}\r\nContent-Disposition: form-data; "
        f'name="{name}"; filename="{name}.png"\r\nContent-Type: image/png\r\n\r\n'.encode()
    )
    chunks += [data, f"\r\n--{boundary}--\r\n".encode()]
    return f"multipart/form-data; boundary={boundary}", chunks


def _expect(response: Response, what: str) -> Response:
    if response.status != 200:
        raise HttpError(f"{what} answered {response.status}: {response.body[:200]!r}")
    return response


async def one_request(
    fakes: Fakes, gateway: Connection, telegram: Connection, chat_id: int
) -> None:
    """Generate (gateway), fetch the linked image, send it as a photo to `chat_id`."""
    headers = {"Authorization": f"Bearer {fakes.api_key}", "Content-Type": "application/json"}
    body = completion_body(f"{PROMPT} #{chat_id}")
    answer = await gateway.request("POST", "/v1/chat/completions", headers, [body])
    link = urlsplit(image_link(_expect(answer, "the gateway").body))
    same_host = (link.hostname, link.port) == (gateway.host, gateway.port)
    source = gateway if same_host else fakes.connect(link.geturl())
    image = _expect(await source.request("GET", link.path), "the image link").body
    if source is not gateway:
        await source.close()
    fields = {
        "chat_id": str(chat_id),
        "reply_parameters": json.dumps({"message_id": 1, "allow_sending_without_reply": True}),
        "reply_markup": json.dumps(
            {"inline_keyboard": [[{"text": "Again", "callback_data": "again:1"}]]}
        ),
    }
    content_type, chunks = multipart(fields, "photo", image)
    sent = await telegram.request(
        "POST", f"/bot{fakes.token}/sendPhoto", {"Content-Type": content_type}, chunks
    )
    _expect(sent, "sendPhoto")


# --------------------------------------------------------------------------------------------
# Modes
# --------------------------------------------------------------------------------------------


async def sequential(fakes: Fakes, count: int, chat_base: int, gap: float) -> dict[str, Any]:
    """`count` requests one after the other on one pair of keep-alive connections."""
    gateway, telegram = fakes.connect(fakes.gateway_url), fakes.connect(fakes.telegram_url)
    starts: dict[int, float] = {}
    try:
        for i in range(count):
            starts[chat_base + i] = time.monotonic()
            await one_request(fakes, gateway, telegram, chat_base + i)
            await asyncio.sleep(gap)
    finally:
        await gateway.close()
        await telegram.close()
    return {"starts": starts}


async def _fresh_request(fakes: Fakes, chat_id: int) -> None:
    gateway, telegram = fakes.connect(fakes.gateway_url), fakes.connect(fakes.telegram_url)
    try:
        await one_request(fakes, gateway, telegram, chat_id)
    finally:
        await gateway.close()
        await telegram.close()


async def concurrent(fakes: Fakes, users: int, chat_base: int) -> dict[str, Any]:
    """`users` requests at once, each on its own new connections."""
    launched = time.monotonic()
    await asyncio.gather(*(_fresh_request(fakes, chat_base + i) for i in range(users)))
    return {"launched": launched, "finished": time.monotonic()}


async def poll(fakes: Fakes) -> dict[str, Any]:
    """One non-blocking `getUpdates` call."""
    telegram = fakes.connect(fakes.telegram_url)
    try:
        response = await telegram.request("GET", f"/bot{fakes.token}/getUpdates?timeout=0")
        _expect(response, "getUpdates")
    finally:
        await telegram.close()
    return {}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line the benchmark uses to spawn the floor."""
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("mode", choices=("sequential", "concurrent", "poll"))
    parser.add_argument("--gateway", required=True, help="the gateway's root URL")
    parser.add_argument("--telegram", required=True, help="the Bot API server's root URL")
    parser.add_argument("--token", required=True)
    parser.add_argument("--api-key", default="")
    parser.add_argument("--count", type=int, default=1, help="sequential: requests")
    parser.add_argument("--users", type=int, default=1, help="concurrent: requests at once")
    parser.add_argument("--chat-base", type=int, default=900_000_000)
    parser.add_argument("--gap", type=float, default=0.0, help="sequential: pause after each")
    return parser.parse_args(argv)


async def _run_mode(args: argparse.Namespace) -> dict[str, Any]:
    fakes = Fakes(args.gateway, args.telegram, args.token, args.api_key)
    if args.mode == "sequential":
        return await sequential(fakes, args.count, args.chat_base, args.gap)
    if args.mode == "concurrent":
        return await concurrent(fakes, args.users, args.chat_base)
    return await poll(fakes)


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    """The mode's result plus `cpu_s`, the CPU time the mode's work took in this process."""
    cpu = time.process_time()
    result = await _run_mode(args)
    return {**result, "cpu_s": time.process_time() - cpu}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one mode and print its result as one JSON line."""
    result = asyncio.run(_main(parse_args(argv)))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

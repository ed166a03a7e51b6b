"""`bot.http_clients`: connection failures over the aiohttp transport keep their nature."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from bot import http_clients


def http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=http_clients.transport(1, "http://127.0.0.1"))


class TestTransport:
    """Connection failures over the aiohttp transport keep their nature ."""

    async def test_hang_up_is_a_network_error_not_a_timeout(self) -> None:
        """A server that closes the connection unanswered: `NetworkError`, never a timeout."""

        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.close()

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, http_client() as client:
            with pytest.raises(httpx.NetworkError) as caught:
                await client.get(f"http://127.0.0.1:{port}/")
        assert not isinstance(caught.value, httpx.TimeoutException)

    async def test_refused_connection_is_a_connect_error(self) -> None:
        """Nobody listening: `ConnectError`, never a timeout."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]  # bound, not listening: connections are refused
            async with http_client() as client:
                with pytest.raises(httpx.ConnectError):
                    await client.get(f"http://127.0.0.1:{port}/")


class TestReadCapped:
    """Bodies are read whole up to the cap, big ones through a temporary file."""

    @staticmethod
    async def serve(body: bytes) -> asyncio.Server:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n")
            writer.write(body)  # no Content-Length: the cap is found while reading
            await writer.drain()
            writer.close()

        return await asyncio.start_server(answer, "127.0.0.1", 0)

    async def read(self, body: bytes, limit: int) -> bytes | None:
        server = await self.serve(body)
        port = server.sockets[0].getsockname()[1]
        async with (
            server,
            http_client() as client,
            client.stream("GET", f"http://127.0.0.1:{port}/") as response,
        ):
            return await http_clients.read_capped(response, limit)

    async def test_a_body_past_the_spill_size_comes_back_intact(self) -> None:
        body = bytes(range(256)) * (3 * http_clients.SPILL_AFTER // 256 + 7)
        assert await self.read(body, limit=len(body)) == body

    async def test_a_body_over_the_cap_is_refused(self) -> None:
        body = b"x" * (2 * http_clients.SPILL_AFTER + 1)
        assert await self.read(body, limit=2 * http_clients.SPILL_AFTER) is None

    async def test_a_body_comes_in_the_pieces_it_arrived_in(self) -> None:
        """Pieces are handed on as received, not re-cut into httpx-aiohttp's 16 KB ones (each
        a trip through httpx's stream layers) nor joined into others (a copy)."""
        piece = bytes(range(256)) * 800  # 200 KB

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (2 * len(piece)))
            for _ in range(2):
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.05)
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with (
            server,
            http_client() as client,
            client.stream("GET", f"http://127.0.0.1:{port}/") as response,
        ):
            pieces = [chunk async for chunk in response.aiter_raw()]
        assert b"".join(pieces) == 2 * piece
        assert max(map(len, pieces)) > 16 * 1024

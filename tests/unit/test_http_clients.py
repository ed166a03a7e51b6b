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

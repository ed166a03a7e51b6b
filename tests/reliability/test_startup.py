"""Start-up against a Telegram that is not there yet (SPEC section 5), as a deployment
meets it: the bot as a process, its exit status and its log."""

from __future__ import annotations

import signal
import socket
import time

from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import png
from tests.reliability.support import (
    BOT_ID,
    Launch,
    ObservedTelegram,
    person,
    problems_in,
    wait_until,
)


def closed_port() -> int:
    """A local port nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TestTelegramUnreachable:
    """The bot waits for Telegram with backoff, one WARNING line per try, no traceback."""

    async def test_refused_connections_are_waited_out_and_sigterm_exits_0(
        self, launch: Launch
    ) -> None:
        url = f"http://127.0.0.1:{closed_port()}"
        bot = await launch(TELEGRAM_API_URL=url, wait=False, clean_exit=False)
        await wait_until(
            lambda: bot.log.count("cannot reach Telegram for getMe") >= 2,
            within=10,
            what="two retries of getMe",
        )
        assert bot.running
        assert "Traceback" not in bot.log and problems_in(bot.log) == []
        asked = time.monotonic()
        bot.send_signal(signal.SIGTERM)
        assert await bot.wait_exit(5) == 0
        assert time.monotonic() - asked < 3

    async def test_serves_as_soon_as_telegram_comes_back(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """Telegram's front answers nginx's 502 page at first, then comes up."""
        telegram.go_down()
        bot = await launch(wait=False)
        await wait_until(
            lambda: "cannot reach Telegram" in bot.log, within=10, what="a retry while down"
        )
        telegram.come_up()
        await bot.wait_ready(within=20)
        gateway.enqueue(gw.markdown(png()))
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, "a lighthouse")
        await telegram.wait_for("sendPhoto", where=lambda call: call.ok, timeout=20)
        assert "Traceback" not in bot.log


class TestRejectedToken:
    async def test_exits_1_with_one_line(self, launch: Launch) -> None:
        bot = await launch(
            TELEGRAM_BOT_TOKEN=f"{BOT_ID}:AAHrevokedSecretValue9Zx", wait=False, clean_exit=False
        )
        assert await bot.wait_exit(20) == 1
        last = bot.log.strip().splitlines()[-1]
        assert "TELEGRAM_BOT_TOKEN was rejected" in last
        assert "Traceback" not in bot.log

"""The bot in-process against the fakes: its secrets, and what the behaviour tests ask of it.

The fixtures that start it live in `tests/conftest.py`; the helpers here are plain
functions that test modules import.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import Runtime
from tests.fakes.telegram import Call, FakeTelegram

TOKEN = "123456:fake-bot-token-for-tests"
#: The token the fake's own tests talk to it with.
FAKE_TOKEN = "123456789:AAtest-token_for_the_fake"
API_KEY = "sk-test-gateway-key"
BOT_USERNAME = "flash_test_bot"
REPO = Path(__file__).resolve().parents[2]

#: A Bot API object as the fake sends it (users, chats, messages).
Json = dict[str, Any]
#: `async with start_bot(**settings) as runtime:` (the `start_bot` fixture).
StartBot = Callable[..., contextlib.AbstractAsyncContextManager[Runtime]]


def texts_to(telegram: FakeTelegram, chat_id: int) -> list[str]:
    """Every text the bot sent to the chat, in order."""
    return [m["text"] for m in telegram.sent_messages(chat_id) if "text" in m]


def to_chat(chat_id: int) -> Callable[[Call], bool]:
    """A `wait_for` filter: calls addressed to `chat_id`."""
    return lambda call: call.params.get("chat_id") == chat_id


def uploaded(call: Call, field: str) -> bytes:
    """The bytes uploaded in `field` of a call."""
    return call.files[field].data


async def ask(
    telegram: FakeTelegram, user: dict[str, Any], text: str, chat: dict[str, Any] | None = None
) -> str:
    """Send `text` and wait for the bot's next text answer in that chat."""
    chat = chat or telegram.private_chat(user)
    before = len(texts_to(telegram, chat["id"]))
    telegram.send_text(user, chat, text)
    for _ in range(200):
        answers = texts_to(telegram, chat["id"])
        if len(answers) > before:
            return answers[before]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no answer to {text!r}: {telegram.summary()}")


async def settle(seconds: float = 1.5) -> None:
    """Give the bot time to (not) react."""
    await asyncio.sleep(seconds)


def today() -> str:
    """Today's quota day under the default QUOTA_TIMEZONE (UTC)."""
    return datetime.now(UTC).date().isoformat()


def _cli_env(env: dict[str, str]) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], **env, "PYTHONPATH": str(REPO)}


def run_cli(args: list[str], env: dict[str, str], cwd: Path, *, status: int = 0) -> str:
    """`python -m bot <args>` from this checkout; its stdout (stderr must be empty on success)."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=_cli_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == status, done.stderr
    return done.stdout if status == 0 else done.stderr


async def run_cli_async(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """`python -m bot <args>` without blocking the loop the fakes run on: (status, stdout)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=_cli_env(env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(60):
        out, _ = await process.communicate()
    return process.returncode or 0, out.decode()

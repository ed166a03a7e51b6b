"""What the reliability tests share: the fakes' secrets, and plain helpers to play users and
read what reached the chats. The fixtures (`telegram`, `gateway`, `launch`, `bot`) are in
`conftest.py`; the bot process itself is `tests.support.process.BotProcess`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tests.fakes.telegram import FakeTelegram
from tests.support.process import REPO, BotProcess
from tests.support.waits import wait_until

__all__ = ["REPO", "BotProcess", "wait_until"]  # re-exported for the test modules

#: Secrets distinctive enough to be found anywhere they leak; the bot id is the prefix.
BOT_ID = 7301234567
TOKEN_SECRET = "AAHrelSecretTok3nQz9WmX2pLk"
TOKEN = f"{BOT_ID}:{TOKEN_SECRET}"
API_KEY = "sk-relSecretKey-7Hq2Vn9cZt4Lw"
BOT_USERNAME = "flash_test_bot"

JsonDict = dict[str, Any]
#: The `telegram` fixture: a plain fake; the runner watches it through its hooks.
ObservedTelegram = FakeTelegram
#: `bot = await launch(NAME=value, ...)` (the `launch` fixture).
Launch = Callable[..., Awaitable[BotProcess]]


# --------------------------------------------------------------------------------------------
# What reached the chats
# --------------------------------------------------------------------------------------------

SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup")


def answers(telegram: FakeTelegram, chat_id: int) -> list[JsonDict]:
    """What the chat shows from the bot now (deleted notices excluded)."""
    return telegram.sent_messages(chat_id, include_deleted=False)


def texts(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m["text"] for m in answers(telegram, chat_id) if "text" in m]


def photos(telegram: FakeTelegram, chat_id: int) -> list[JsonDict]:
    return [m for m in answers(telegram, chat_id) if "photo" in m]


def documents(telegram: FakeTelegram, chat_id: int) -> list[JsonDict]:
    return [m for m in answers(telegram, chat_id) if "document" in m]


def reply_target(message: JsonDict) -> int | None:
    """The message id the bot's message replies to."""
    replied = message.get("reply_to_message")
    return int(replied["message_id"]) if replied else None


async def wait_answers(
    telegram: FakeTelegram,
    chat_id: int,
    count: int = 1,
    *,
    within: float = 15.0,
    settle: float = 0.3,
) -> list[JsonDict]:
    """Wait for `count` visible answers in the chat, then `settle` seconds for extras."""
    await wait_until(
        lambda: len(answers(telegram, chat_id)) >= count,
        within=within,
        what=lambda: (
            f"{count} answer(s) in chat {chat_id} (got {answers(telegram, chat_id)}; "
            f"calls: {telegram.summary()})"
        ),
    )
    await asyncio.sleep(settle)
    return answers(telegram, chat_id)


def outgoing_texts(telegram: FakeTelegram) -> list[tuple[int | str | None, str]]:
    """(chat_id, text or caption) of every message the bot tried to send or edit."""
    found = []
    for call in telegram.calls:
        if call.method in (*SEND_METHODS, "editMessageText", "editMessageCaption"):
            for name in ("text", "caption"):
                value = call.params.get(name)
                if isinstance(value, str):
                    found.append((call.params.get("chat_id"), value))
            found.extend(
                (call.params.get("chat_id"), item["caption"])
                for item in call.params.get("media") or []
                if isinstance(item, dict) and isinstance(item.get("caption"), str)
            )
        if call.method == "answerCallbackQuery" and isinstance(call.params.get("text"), str):
            found.append((None, call.params["text"]))
    return found


def problems_in(log: str) -> list[str]:
    """Log lines that reveal a bug: unhandled errors and tracebacks."""
    return [
        line
        for line in log.splitlines()
        if "unhandled error" in line.lower() or line.startswith("Traceback")
    ]


# --------------------------------------------------------------------------------------------
# Playing users
# --------------------------------------------------------------------------------------------


def person(
    telegram: FakeTelegram, user_id: int, name: str = "Ann", **fields: Any
) -> tuple[JsonDict, JsonDict]:
    """A user and their private chat with the bot."""
    user = telegram.user(user_id, name, **fields)
    return user, telegram.private_chat(user)


def arrival_of(telegram: FakeTelegram, message: JsonDict) -> float:
    """When (time.monotonic) the fake received the call that created the bot's `message`."""
    chat_id, message_id = message["chat"]["id"], message["message_id"]
    for call in telegram.calls:
        result = call.result if call.ok else None
        if not isinstance(result, dict) or "chat" not in result:
            continue
        if (result["chat"]["id"], result.get("message_id")) == (chat_id, message_id):
            return call.at
    raise AssertionError(f"no call created message {message_id} in chat {chat_id}")


def one_sentence(message: JsonDict) -> str:
    """The text of a short answer (no media, no stack trace, no raw exception)."""
    assert "text" in message, f"expected a text answer, got {message}"
    text = str(message["text"])
    assert len(text) <= 400, f"not a short answer ({len(text)} chars): {text[:200]!r}"
    for marker in ("Traceback", "Exception", "Error:", "httpx", "aiohttp", "telegram.error"):
        assert marker not in text, f"internal detail {marker!r} in {text!r}"
    return text

"""`bot.tg.gate`: moved chats followed, gone topics left for General, per-chat holds with
results ahead of notices. Driven through PTB's rate-limiter interface with PTB's errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram.error import BadRequest, ChatMigrated, RetryAfter

from bot.core.moves import ChatMoves
from bot.ledger import Ledger, open_ledger
from bot.tg.gate import Priority, SendControl


@pytest.fixture
async def ledger() -> AsyncIterator[Ledger]:
    async with open_ledger(":memory:") as opened:
        yield opened


class Telegram:
    """Stands in for PTB's `_do_post`: records what was sent, fails as told."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[Exception] = []

    def call(
        self, gate: SendControl, endpoint: str, priority: int | None = None, **data: Any
    ) -> Any:
        async def post(sent: dict[str, Any]) -> bool:
            if self.failures:
                raise self.failures.pop(0)
            self.sent.append((endpoint, dict(sent)))
            return True

        return gate.process_request(post, (data,), {}, endpoint, data, priority)


async def test_a_migrated_group_is_sent_to_its_new_id_at_once(ledger: Ledger) -> None:
    moves = ChatMoves(ledger.moves)
    gate, telegram = SendControl(moves), Telegram()
    telegram.failures.append(ChatMigrated(-1002))
    await telegram.call(gate, "sendPhoto", Priority.RESULT, chat_id=-5)
    await telegram.call(gate, "sendMessage", chat_id=-5)
    assert [data["chat_id"] for _, data in telegram.sent] == [-1002, -1002]
    assert await ledger.moves.all() == {-5: -1002}
    assert moves.earlier(-1002) == {-5}


async def test_a_gone_topic_falls_back_to_general(ledger: Ledger) -> None:
    gate, telegram = SendControl(ChatMoves(ledger.moves)), Telegram()
    telegram.failures.append(BadRequest("Bad Request: message thread not found"))
    await telegram.call(gate, "sendPhoto", chat_id=-100, message_thread_id=9)
    [(_, data)] = telegram.sent
    assert "message_thread_id" not in data


async def test_other_refusals_are_not_swallowed(ledger: Ledger) -> None:
    gate, telegram = SendControl(ChatMoves(ledger.moves)), Telegram()
    telegram.failures.append(BadRequest("Bad Request: chat not found"))
    with pytest.raises(BadRequest):
        await telegram.call(gate, "sendMessage", chat_id=-100, message_thread_id=9)


async def test_a_hold_keeps_back_only_its_chat_and_results_go_first(ledger: Ledger) -> None:
    gate, telegram = SendControl(ChatMoves(ledger.moves)), Telegram()
    telegram.failures.append(RetryAfter(1))
    first = asyncio.create_task(telegram.call(gate, "sendMessage", chat_id=1, text="notice 1"))
    await asyncio.sleep(0.05)  # chat 1 is held now, for about a second
    notices = [
        asyncio.create_task(telegram.call(gate, "sendMessage", chat_id=1, text=f"notice {n}"))
        for n in (2, 3)
    ]
    await asyncio.sleep(0.01)
    result = asyncio.create_task(
        telegram.call(gate, "sendPhoto", Priority.RESULT, chat_id=1, text="result")
    )
    assert await telegram.call(gate, "sendChatAction", chat_id=1) is True  # dropped
    await telegram.call(gate, "sendMessage", chat_id=2, text="elsewhere")
    assert [data["text"] for _, data in telegram.sent] == ["elsewhere"]
    await asyncio.gather(first, result, *notices)
    order = [str(data.get("text")) for _, data in telegram.sent]
    assert order[:2] == ["elsewhere", "result"]
    assert sorted(order[2:]) == ["notice 1", "notice 2", "notice 3"]
    assert all(endpoint != "sendChatAction" for endpoint, _ in telegram.sent)

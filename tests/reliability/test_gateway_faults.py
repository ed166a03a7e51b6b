"""Gateway faults against the real bot process (SPEC section 1, "Errors").

For every fault: the user gets exactly one clear answer, the ledger records the right
status with no units kept, retries happen only where they are safe and stop at
REQUEST_TIMEOUT, and the next request works.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway, Reply
from tests.fakes.images import corrupt_image, jpeg, png, truncated
from tests.reliability.support import (
    API_KEY,
    BotProcess,
    Launch,
    ObservedTelegram,
    arrival_of,
    one_sentence,
    person,
    problems_in,
    reply_target,
    wait_answers,
)

#: Small, so persistent failures end quickly; retries must fit inside it.
TIMEOUT = 2.0
#: How late after the deadline an answer may come (process and event-loop latency).
SLACK = 1.5
PROMPT = "a lighthouse at dusk, oil painting"

MB = 1024 * 1024
#: A question back from the model, or an error message, longer than a Telegram message.
LONG = "Before I draw this, tell me more. " + "Which style, colours, mood? " * 180


def huge_data_url_answer(megabytes: int) -> bytes:
    """A chat completion whose content is one data: URL of `megabytes` MB of base64 zeros."""
    head = b'{"id":"x","object":"chat.completion","choices":[{"index":0,"message":'
    head += b'{"role":"assistant","content":"![image](data:image/png;base64,'
    tail = b')"},"finish_reason":"stop"}]}'
    return head + b"A" * (megabytes * MB) + tail


@dataclass(frozen=True)
class Fault:
    """A gateway that keeps failing the same way."""

    reply: Callable[[FakeGateway], Reply]
    says: str
    calls: Callable[[int], bool]
    #: Seconds from the user's message to the answer, at most.
    within: float


ONCE: Callable[[int], bool] = lambda n: n == 1  # noqa: E731 - a table of lambdas reads best
RETRIED: Callable[[int], bool] = lambda n: 2 <= n <= 6  # noqa: E731

PERSISTENT: dict[str, Fault] = {
    "401": Fault(lambda g: gw.error(401, "invalid token"), "unavailable right now", ONCE, 2.0),
    "403": Fault(lambda g: gw.error(403, "group denied"), "unavailable right now", ONCE, 2.0),
    "429 without Retry-After": Fault(
        lambda g: gw.error(429, "busy"), "overloaded", RETRIED, TIMEOUT + SLACK
    ),
    "429 Retry-After beyond the deadline": Fault(
        lambda g: gw.error(429, "busy", retry_after=60), "overloaded", ONCE, 2.0
    ),
    "500": Fault(lambda g: gw.error(500, "boom"), "internal error", RETRIED, TIMEOUT + SLACK),
    "502": Fault(lambda g: gw.error(502, "bad gw"), "internal error", RETRIED, TIMEOUT + SLACK),
    "503": Fault(lambda g: gw.error(503, "down"), "internal error", RETRIED, TIMEOUT + SLACK),
    "504": Fault(lambda g: gw.error(504, "slow"), "internal error", RETRIED, TIMEOUT + SLACK),
    "malformed JSON": Fault(
        lambda g: gw.raw(b'{"choices": [{"message": {"content": "![image](htt'),
        "can't use",
        ONCE,
        2.0,
    ),
    "no choices": Fault(
        lambda g: gw.raw(json.dumps({"id": "x", "choices": []}).encode()),
        "can't use",
        ONCE,
        2.0,
    ),
    "image link 404": Fault(
        lambda g: gw.markdown_urls(f"{g.url}/files/missing.png"),
        "could not be downloaded",
        ONCE,
        2.0,
    ),
    "image trickling past the deadline": Fault(
        lambda g: gw.markdown_urls(g.add_file(png(256, 256, seed=3), trickle=TIMEOUT + 6)),
        "could not be downloaded",
        ONCE,
        TIMEOUT + SLACK,
    ),
    "connection reset mid-body": Fault(
        lambda g: gw.reset(), "can't be reached", RETRIED, TIMEOUT + SLACK
    ),
    "never answers": Fault(lambda g: gw.hang(), "took too long", ONCE, TIMEOUT + SLACK),
    "70 MB data URL": Fault(
        lambda g: gw.raw(huge_data_url_answer(70)), "can't use", ONCE, TIMEOUT + SLACK
    ),
}


async def next_request_works(
    bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway, user_id: int
) -> None:
    """After whatever happened, a normal request by the same user gets its photo."""
    gateway.default = gw.markdown(png(96, 96, seed=77))
    user, chat = telegram.user(user_id), telegram.private_chat(telegram.user(user_id))
    before = len(telegram.sent_messages(chat["id"], include_deleted=False))
    asked = telegram.send_text(user, chat, "a quiet harbour")
    got = await wait_answers(telegram, chat["id"], before + 1)
    assert len(got) == before + 1, got
    assert "photo" in got[-1] and reply_target(got[-1]) == asked["message_id"]
    last = bot.rows("user_id = ?", (user_id,))[-1]
    assert (last["prompt"], last["status"], last["units"]) == ("a quiet harbour", "ok", 1)


class TestPersistentFaults:
    """A gateway that keeps failing: one plain sentence, nothing charged, no endless retry."""

    @pytest.mark.parametrize("name", list(PERSISTENT))
    async def test_one_clear_answer_and_nothing_charged(
        self,
        launch: Launch,
        telegram: ObservedTelegram,
        gateway: FakeGateway,
        name: str,
    ) -> None:
        """The sentence names the failure, says nothing was charged, and comes in time."""
        fault = PERSISTENT[name]
        gateway.default = fault.reply(gateway)
        bot = await launch(REQUEST_TIMEOUT=TIMEOUT)
        ann, chat = person(telegram, 1)
        asked_at = time.monotonic()
        telegram.send_text(ann, chat, PROMPT)
        [answer] = await wait_answers(telegram, 1, within=TIMEOUT + 10, settle=0.6)
        text = one_sentence(answer)
        assert fault.says in text and "Nothing was charged" in text, text
        assert arrival_of(telegram, answer) - asked_at <= fault.within
        calls = len(gateway.requests)
        assert fault.calls(calls), f"{calls} gateway call(s): {gateway.requests}"
        [row] = bot.rows()
        assert (row["status"], row["units"], row["prompt"]) == ("failed", 0, PROMPT)
        assert row["error"] and API_KEY not in row["error"]
        await next_request_works(bot, telegram, gateway, 1)
        assert len(gateway.requests) == calls + 1  # no retry continued behind the answer
        assert problems_in(bot.log) == []

    async def test_auth_failure_is_logged_for_the_operator(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """A refused API key is an ERROR line for the operator, without the key."""
        gateway.default = gw.error(401, "invalid token")
        bot = await launch(REQUEST_TIMEOUT=TIMEOUT)
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, PROMPT)
        await wait_answers(telegram, 1)
        errors = [line for line in bot.log.splitlines() if " ERROR " in line]
        assert any("API key" in line for line in errors), bot.log
        assert API_KEY not in bot.log


class TestTransientFaults:
    """A fault that clears: the retry delivers the image, charged once."""

    @pytest.mark.parametrize(
        ("name", "fault", "min_gap"),
        [
            ("429 Retry-After 1", gw.error(429, "slow down", retry_after=1), 1.0),
            ("500", gw.error(500, "boom"), 0.4),
            ("502", gw.error(502, "bad gateway"), 0.4),
            ("503", gw.error(503, "unavailable"), 0.4),
            ("504", gw.error(504, "timeout"), 0.4),
            ("connection reset mid-body", gw.reset(), 0.4),
        ],
    )
    async def test_retried_then_delivered(
        self,
        launch: Launch,
        telegram: ObservedTelegram,
        gateway: FakeGateway,
        name: str,
        fault: Reply,
        min_gap: float,
    ) -> None:
        """Two gateway calls with a backoff (or Retry-After) between; one photo; one unit."""
        image = png(200, 120, seed=5)
        gateway.enqueue(fault, gw.markdown(image))
        bot = await launch(REQUEST_TIMEOUT=10)
        ann, chat = person(telegram, 1)
        asked = telegram.send_text(ann, chat, PROMPT)
        [answer] = await wait_answers(telegram, 1)
        assert "photo" in answer and reply_target(answer) == asked["message_id"]
        [photo_call] = [c for c in telegram.calls_of("sendPhoto") if c.ok]
        assert photo_call.files["photo"].data == image
        first, second = gateway.requests
        assert second.at - first.at >= min_gap
        assert second.prompt == first.prompt == PROMPT
        [row] = bot.rows()
        assert (row["status"], row["units"], row["images"]) == ("ok", 1, 1)
        assert row["prompt_tokens"] == 10  # usage of the answer that succeeded
        await next_request_works(bot, telegram, gateway, 1)
        assert problems_in(bot.log) == []


class TestBrokenResults:
    """A result that is not a whole image: a clear failure, nothing charged, no crash."""

    @pytest.mark.parametrize(
        "data",
        [
            pytest.param(truncated(jpeg(400, 300, seed=6)), id="truncated JPEG"),
            pytest.param(truncated(png(400, 300, seed=7)), id="truncated PNG"),
            pytest.param(corrupt_image(), id="corrupt"),
            pytest.param(b"<html><body>502 Bad Gateway</body></html>", id="HTML page"),
        ],
    )
    async def test_broken_image_is_not_charged(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway, data: bytes
    ) -> None:
        """The link serves a broken image: one sentence, status failed, units released."""
        gateway.enqueue(gw.markdown(data))
        bot = await launch()
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, PROMPT)
        [answer] = await wait_answers(telegram, 1, settle=0.6)
        assert "could not be downloaded" in one_sentence(answer)
        [row] = bot.rows()
        assert (row["status"], row["units"]) == ("failed", 0)
        assert problems_in(bot.log) == []
        await next_request_works(bot, telegram, gateway, 1)


class TestNoImage:
    """An answer without an image is relayed as text and not charged."""

    async def test_refusal_is_relayed(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """Status no_image, the model's words reach the user, units released."""
        refusal = "I can't create images of real people."
        gateway.enqueue(gw.text(refusal))
        bot = await launch()
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, PROMPT)
        [answer] = await wait_answers(telegram, 1)
        assert refusal in answer["text"] and "Nothing was charged" in answer["text"]
        [row] = bot.rows()
        assert (row["status"], row["units"]) == ("no_image", 0)
        assert len(gateway.requests) == 1  # a valid answer is never retried
        await next_request_works(bot, telegram, gateway, 1)

    @pytest.mark.parametrize(
        ("reply", "opening"),
        [
            (gw.text(LONG), "The model answered without an image"),
            (gw.error(400, LONG), "The image service refused this request"),
        ],
        ids=["no image", "400"],
    )
    async def test_long_upstream_text_still_reaches_the_user(
        self,
        launch: Launch,
        telegram: ObservedTelegram,
        gateway: FakeGateway,
        reply: Reply,
        opening: str,
    ) -> None:
        """A 5,000-character text from upstream: the user still gets one (shortened) answer."""
        gateway.enqueue(reply)
        await launch()
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, PROMPT)
        [answer] = await wait_answers(telegram, 1, within=3)
        assert answer["text"].startswith(opening)
        assert "Before I draw this, tell me more." in answer["text"]
        assert "Nothing was charged" in answer["text"]

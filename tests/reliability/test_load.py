"""A burst of 1,000 updates from 200 users: every update answered exactly once, the
per-user in-flight cap and the daily quota hold exactly, and the ledger agrees."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import png
from tests.reliability.support import (
    Launch,
    ObservedTelegram,
    answers,
    person,
    problems_in,
    reply_target,
    wait_until,
)

USERS = 200
QUOTA = 3
BUSY = "Still working on your previous images"
OVER = "You have used today's 3 images"

JsonDict = dict[str, Any]


def burst(
    telegram: ObservedTelegram, people: list[tuple[JsonDict, JsonDict]], rounds: int, tag: str
) -> dict[int, list[int]]:
    """`rounds` messages per user, pushed as `rounds` batches (one message per user each)."""
    asked: dict[int, list[int]] = {user["id"]: [] for user, _ in people}
    for n in range(rounds):
        batch = []
        for user, chat in people:
            update = telegram.send_text(user, chat, f"{tag} {n} for {user['id']}", push=False)
            asked[user["id"]].append(update["message"]["message_id"])
            batch.append(update)
        telegram.push_updates(batch)
    return asked


def answered(telegram: ObservedTelegram, people: list[tuple[JsonDict, JsonDict]]) -> int:
    return sum(len(answers(telegram, user["id"])) for user, _ in people)


class TestBurst:
    """1,000 updates, quota 3, gateway answering after 1 s."""

    async def test_every_update_answered_once_and_quotas_hold(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """Per user: exactly 3 photos and 2 refusals (busy or over quota); ledger agrees."""
        gateway.default = gw.markdown(png(32, 32, seed=31), delay=1.0)
        bot = await launch(DAILY_QUOTA=QUOTA, MAX_CONCURRENT_REQUESTS=500, REQUEST_TIMEOUT=60)
        people = [person(telegram, 10_000 + i, f"P{i}") for i in range(USERS)]

        # Wave 1: three at once per user (the third meets the in-flight cap) ...
        first = burst(telegram, people, 3, "wave one")
        await wait_until(
            lambda: answered(telegram, people) >= 3 * USERS, within=90, what="wave one answers"
        )
        # ... wave 2: two more (one fits the quota, the other is over it).
        second = burst(telegram, people, 2, "wave two")
        await wait_until(
            lambda: answered(telegram, people) >= 5 * USERS, within=90, what="wave two answers"
        )
        await asyncio.sleep(1.0)  # anything late or duplicated would show up now

        kinds: Counter[str] = Counter()
        for user, _ in people:
            uid = user["id"]
            got = answers(telegram, uid)
            assert len(got) == 5, (uid, got)
            photo_targets = [reply_target(m) for m in got if "photo" in m]
            assert len(photo_targets) == QUOTA, (uid, got)
            assert len(set(photo_targets)) == QUOTA  # no message answered twice
            assert set(photo_targets) <= set(first[uid] + second[uid])
            for message in got:
                if "photo" in message:
                    kinds["photo"] += 1
                elif BUSY in message.get("text", ""):
                    kinds["busy"] += 1
                elif OVER in message.get("text", ""):
                    kinds["over"] += 1
                else:
                    raise AssertionError(f"unexpected answer to {uid}: {message}")
        assert kinds["photo"] == QUOTA * USERS
        assert kinds["busy"] + kinds["over"] == 2 * USERS

        rows = bot.rows()
        by_status = Counter(r["status"] for r in rows)
        assert by_status == {"ok": QUOTA * USERS, "over_quota": kinds["over"]}, by_status
        per_user = Counter(r["user_id"] for r in rows if r["status"] == "ok")
        assert set(per_user.values()) == {QUOTA}
        assert sum(r["units"] for r in rows) == QUOTA * USERS
        assert len(gateway.requests) == QUOTA * USERS
        assert sum(1 for c in telegram.calls_of("sendPhoto") if c.ok) == QUOTA * USERS
        assert telegram.pending_updates == []
        assert problems_in(bot.log) == []


class TestRefusalsNameTheirMessage:
    """A user who sent several prompts can tell which one a refusal is about."""

    async def test_busy_and_over_quota_sentences_reply_to_the_refused_message(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """Three prompts at once, quota 2: the refusal replies to the prompt it refuses."""
        gateway.default = gw.markdown(png(32, 32, seed=32), delay=1.0)
        await launch(DAILY_QUOTA=2)
        ann, chat = person(telegram, 1)
        asked = [telegram.send_text(ann, chat, f"prompt {n}", push=False) for n in range(3)]
        telegram.push_updates(asked)
        ids = {u["message"]["message_id"] for u in asked}
        await wait_until(lambda: len(answers(telegram, 1)) >= 3, what="three answers")
        extra = telegram.send_text(ann, chat, "one too many")
        await wait_until(lambda: len(answers(telegram, 1)) >= 4, what="four answers")
        got = answers(telegram, 1)
        photo_targets = {reply_target(m) for m in got if "photo" in m}
        [busy] = [m for m in got if BUSY in m.get("text", "")]
        assert reply_target(busy) in ids - photo_targets
        [over] = [m for m in got if "You have used today's 2 images" in m.get("text", "")]
        assert reply_target(over) == extra["message_id"]

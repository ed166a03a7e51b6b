"""The process's life: SIGKILL mid-flight and a restart on the same ledger, SIGTERM/SIGINT
with requests in flight, and updates that arrive while the bot is stopping."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import png
from tests.fakes.telegram import Call
from tests.reliability.support import (
    BotProcess,
    Launch,
    ObservedTelegram,
    arrival_of,
    one_sentence,
    person,
    photos,
    problems_in,
    reply_target,
    texts,
    wait_answers,
    wait_until,
)


def ok_units(bot: BotProcess) -> int:
    return sum(row["units"] for row in bot.rows("status = 'ok'"))


def delivered_photos(telegram: ObservedTelegram) -> int:
    return sum(1 for call in telegram.calls_of("sendPhoto") if call.ok)


class TestCrash:
    """SIGKILL with requests in flight, then a restart on the same database."""

    async def test_a_kill_while_thanking_for_a_payment_leaves_one_credit(
        self, launch: Launch, telegram: ObservedTelegram
    ) -> None:
        """SIGKILL between Telegram's successful_payment and the bot's answer: after the
        restart (the update again, and the start-up reconciliation) the pack is credited
        exactly once."""
        crashed = await launch(STARS_PACKS="20:50", clean_exit=False)
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, "/buy 20")
        await telegram.wait_for("sendInvoice", timeout=10)
        thanking: list[Call] = []
        telegram.hooks.request.append(
            lambda call: thanking.append(call) if "Thank" in str(call.params.get("text")) else None
        )
        telegram.delay("sendMessage", 30)
        paid = await telegram.pay(ann, telegram.invoices[-1].message)
        assert paid.accepted
        await wait_until(lambda: bool(thanking), within=10, what="the thank you on its way")
        crashed.kill()
        telegram.delay("sendMessage", 0)

        restarted = await launch(STARS_PACKS="20:50", db=crashed.db_path)
        await asyncio.sleep(1.0)
        payments = restarted.query("SELECT charge_id, images, status FROM payments")
        assert payments == [{"charge_id": paid.charge_id, "images": 20, "status": "paid"}]
        assert problems_in(restarted.log) == []

    async def test_restart_releases_every_reservation(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """10 in flight at the kill: all failed after the restart, no unit kept or charged twice."""
        gateway.default = gw.markdown(png(64, 64, seed=21), delay=60)
        crashed = await launch(clean_exit=False)
        people = [person(telegram, 100 + i, f"U{i}") for i in range(10)]
        for i, (user, chat) in enumerate(people):
            telegram.send_text(user, chat, f"picture number {i}")
        await gateway.wait_for_requests(10)
        in_flight = crashed.rows("status = 'reserved'")
        assert len(in_flight) == 10 and {r["units"] for r in in_flight} == {1}
        crashed.kill()
        assert crashed.returncode == -signal.SIGKILL

        gateway.default = gw.markdown(png(64, 64, seed=22))
        restarted = await launch(db=crashed.db_path)
        assert restarted.rows("status = 'reserved'") == []
        interrupted = restarted.rows(f"id IN ({','.join(str(r['id']) for r in in_flight)})")
        assert {(r["status"], r["units"]) for r in interrupted} == {("failed", 0)}
        assert all("interrupted" in r["error"] for r in interrupted)
        assert "released 10 reservation(s)" in restarted.log

        for user, chat in people:
            telegram.send_text(user, chat, "try again please")
        for user, _ in people:
            await wait_answers(telegram, user["id"], 1, settle=0)
        await asyncio.sleep(0.6)
        assert ok_units(restarted) == delivered_photos(telegram) == 10
        for user, _ in people:
            rows = restarted.rows("user_id = ? AND status = 'ok'", (user["id"],))
            assert [r["units"] for r in rows] == [1]
        assert restarted.rows("status = 'reserved'") == []
        assert problems_in(restarted.log) == []

    async def test_users_hear_about_requests_lost_in_a_crash(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """After the restart, each user whose request died gets one sentence to resend it."""
        gateway.default = gw.markdown(png(64, 64, seed=23), delay=60)
        crashed = await launch(clean_exit=False)
        people = [person(telegram, 200 + i, f"V{i}") for i in range(2)]
        for user, chat in people:
            telegram.send_text(user, chat, "a tower")
        await gateway.wait_for_requests(2)
        crashed.kill()
        await launch(db=crashed.db_path)
        for user, chat in people:
            [answer] = await wait_answers(telegram, user["id"], 1, within=3)
            one_sentence(answer)
            assert "restarted" in answer["text"] and "send your request again" in answer["text"]
            asked = telegram.sent_messages(chat["id"])  # it answers the message that asked
            assert answer.get("reply_to_message", {}).get("text") == "a tower", asked


class TestGracefulStop:
    """SIGTERM and SIGINT let requests in flight finish, then exit 0."""

    @pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
    async def test_in_flight_requests_finish(
        self,
        launch: Launch,
        telegram: ObservedTelegram,
        gateway: FakeGateway,
        sig: signal.Signals,
    ) -> None:
        """Three 2 s requests running at the signal: three photos, then exit code 0."""
        gateway.default = gw.markdown(png(64, 64, seed=24), delay=2)
        bot = await launch(SHUTDOWN_GRACE=10)
        people = [person(telegram, 300 + i, f"W{i}") for i in range(3)]
        asked = [telegram.send_text(user, chat, "a bridge") for user, chat in people]
        await gateway.wait_for_requests(3)
        bot.send_signal(sig)
        signalled = time.monotonic()
        assert await bot.wait_exit(15) == 0, bot.log
        exited = time.monotonic()
        assert exited - signalled < 6
        for (user, _), message in zip(people, asked, strict=True):
            [answer] = photos(telegram, user["id"])
            assert reply_target(answer) == message["message_id"]
            assert signalled < arrival_of(telegram, answer) < exited
        assert {(r["status"], r["units"]) for r in bot.rows()} == {("ok", 1)}
        assert "stopped" in bot.log and problems_in(bot.log) == []

    async def test_request_cut_off_by_the_grace_period(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """A request that cannot finish within SHUTDOWN_GRACE: failed, released, exit 0,
        and its user gets one sentence."""
        gateway.default = gw.hang()
        bot = await launch(SHUTDOWN_GRACE=1, REQUEST_TIMEOUT=60)
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, "a slow one")
        await gateway.wait_for_requests(1)
        bot.send_signal(signal.SIGTERM)
        assert await bot.wait_exit(8) == 0, bot.log
        [row] = bot.rows()
        assert (row["status"], row["units"], row["error"]) == ("failed", 0, "interrupted")
        assert "1 request(s) did not finish in time" in bot.log
        [answer] = texts(telegram, 1)
        assert "Nothing was charged" in answer or "try again" in answer.lower()

    async def test_update_arriving_during_the_stop_is_not_lost(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """A message sent while the bot drains is left unconfirmed and answered after restart."""
        gateway.default = gw.markdown(png(64, 64, seed=25), delay=2)
        bot = await launch(SHUTDOWN_GRACE=10)
        ann, chat = person(telegram, 1)
        bob, bobs_chat = person(telegram, 2, "Bob")
        telegram.send_text(ann, chat, "first")
        await gateway.wait_for_requests(1)
        bot.send_signal(signal.SIGTERM)
        await wait_until(lambda: "stopping" in bot.log, what="the stop to begin")
        late = telegram.send_text(bob, bobs_chat, "sent during the stop")
        assert await bot.wait_exit(15) == 0
        assert photos(telegram, 1) and not photos(telegram, 2)
        gateway.default = gw.markdown(png(64, 64, seed=26))
        await launch(db=bot.db_path)
        [answer] = await wait_answers(telegram, 2, 1)
        assert "photo" in answer and reply_target(answer) == late["message_id"]
        assert len(photos(telegram, 1)) == 1  # the first request was not run again

"""SPEC section 3, "Buying images with Telegram Stars": packs, invoices, the pre-checkout,
payments credited exactly once, credits spent after the free units, refunds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import png
from tests.fakes.telegram import FakeTelegram
from tests.support.bot import Json, StartBot, ask, settle, texts_to

PACKS = "20:50,100:200"
ADMIN = 99


async def invoice_for(telegram: FakeTelegram, buyer: Json, images: int = 20) -> Json:
    """The invoice the bot sends for `/buy <images>`."""
    before = len(telegram.invoices)
    telegram.send_text(buyer, telegram.private_chat(buyer), f"/buy {images}")
    await telegram.wait_for("sendInvoice", count=before + 1, timeout=10)
    return telegram.invoices[-1].message


async def test_buy_shows_packs_and_a_button_sends_the_invoice(
    start_bot: StartBot, telegram: FakeTelegram, ann: Json
) -> None:
    async with start_bot(stars_packs=PACKS):
        telegram.send_text(ann, telegram.private_chat(ann), "/buy")
        [shown] = await telegram.wait_for("sendMessage", timeout=10)
        rows = shown.result["reply_markup"]["inline_keyboard"]
        assert [row[0]["text"] for row in rows] == ["20 images for 50 ⭐", "100 images for 200 ⭐"]
        telegram.press_button(ann, shown.result, rows[1][0]["callback_data"])
        [call] = await telegram.wait_for("sendInvoice", timeout=10)
    assert call.params["currency"] == "XTR"
    assert call.params["prices"] == [{"label": "100 images", "amount": 200}]
    assert not call.params.get("provider_token")
    assert telegram.invoices[0].payload == f"pack:100:200:{ann['id']}"


async def test_a_payment_is_credited_once_although_its_update_arrives_twice(
    start_bot: StartBot, telegram: FakeTelegram, ann: Json
) -> None:
    async with start_bot(stars_packs=PACKS) as runtime:
        paid = await telegram.pay(ann, await invoice_for(telegram, ann))
        assert paid.accepted and paid.update is not None
        await telegram.wait_for(
            "sendMessage", where=lambda c: "Thank you" in c.params.get("text", "")
        )
        telegram.redeliver(paid.update)
        await settle(1.0)
        assert await runtime.ledger.spending.balance(ann["id"]) == 20
        quota = await ask(telegram, ann, "/quota")
    thanks = [t for t in texts_to(telegram, ann["id"]) if t.startswith("Thank you")]
    assert thanks == ["Thank you! 20 images added. Your credits: 20."]
    assert "Credits: 20" in quota


async def test_a_pack_no_longer_on_sale_is_declined_at_checkout(
    start_bot: StartBot, telegram: FakeTelegram, ann: Json
) -> None:
    async with start_bot(stars_packs=PACKS):
        invoice = await invoice_for(telegram, ann)
    async with start_bot(stars_packs="30:60"):
        attempt = await telegram.pay(ann, invoice)
    assert attempt.answered and not attempt.accepted
    assert (
        attempt.error_message
        == "This offer is no longer available. Send /buy for the current packs."
    )


async def test_a_buyer_whose_limit_is_zero_is_declined_at_checkout(
    start_bot: StartBot, telegram: FakeTelegram, ann: Json
) -> None:
    """An admin's `/setquota <user> 0` switches the user off, credits included: their Stars
    are not taken for images they could not use."""
    admin = telegram.user(ADMIN)
    async with start_bot(stars_packs=PACKS, admin_user_ids=str(ADMIN)):
        invoice = await invoice_for(telegram, ann)
        assert "limit set to 0" in await ask(telegram, admin, f"/setquota {ann['id']} 0")
        attempt = await telegram.pay(ann, invoice)
    assert attempt.answered and not attempt.accepted
    assert attempt.error_message == "You cannot buy images from this bot."


async def test_credits_after_free_units_and_a_failed_image_costs_none(
    start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway, ann: Json
) -> None:
    gateway.enqueue(gw.markdown(png()), gw.error(400, "refused"), gw.markdown(png()))
    async with start_bot(stars_packs=PACKS, daily_quota=1) as runtime:
        await telegram.pay(ann, await invoice_for(telegram, ann))
        balance = runtime.ledger.spending.balance
        chat = telegram.private_chat(ann)
        telegram.send_text(ann, chat, "one")  # today's free unit
        await telegram.wait_for("sendPhoto", timeout=10)
        assert await balance(ann["id"]) == 20
        assert "Nothing was charged" in await ask(telegram, ann, "two")  # the gateway fails
        assert await balance(ann["id"]) == 20
        telegram.send_text(ann, chat, "three")  # paid with a credit
        await telegram.wait_for("sendPhoto", count=2, timeout=10)
        assert await balance(ann["id"]) == 19


async def test_over_the_quota_the_answer_offers_the_packs(
    start_bot: StartBot, telegram: FakeTelegram, gateway: FakeGateway, ann: Json
) -> None:
    async with start_bot(stars_packs=PACKS, daily_quota=1):
        chat = telegram.private_chat(ann)
        telegram.send_text(ann, chat, "one")
        await telegram.wait_for("sendPhoto", timeout=10)
        telegram.send_text(ann, chat, "two")
        [refusal] = await telegram.wait_for("sendMessage", timeout=10)
    assert "today's 1 image" in refusal.params["text"]
    assert refusal.result["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "buy:20"


async def test_refund_takes_the_pack_back_and_a_second_is_refused_plainly(
    start_bot: StartBot, telegram: FakeTelegram, ann: Json
) -> None:
    admin = telegram.user(ADMIN, "Boss")
    async with start_bot(stars_packs=PACKS, admin_user_ids=str(ADMIN)) as runtime:
        paid = await telegram.pay(ann, await invoice_for(telegram, ann))
        await settle(0.5)
        done = await ask(telegram, admin, f"/refund {paid.charge_id}")
        assert (
            done == f"Refunded 50 ⭐ to user {ann['id']}; 20 images taken back from their credits."
        )
        assert telegram.is_refunded(str(paid.charge_id))
        assert await runtime.ledger.spending.balance(ann["id"]) == 0
        again = await ask(telegram, admin, f"/refund {paid.charge_id}")
    assert again.startswith("Telegram refused the refund:") and "refunded" in again.lower()


async def test_a_payment_whose_update_was_lost_is_credited_at_start_up(
    start_bot: StartBot, telegram: FakeTelegram, ann: Json, tmp_path: Path
) -> None:
    """The crash came before the commit: Telegram has the payment, the ledger does not."""
    db = tmp_path / "stars.sqlite3"
    async with start_bot(stars_packs=PACKS, database_path=db):
        paid = await telegram.pay(ann, await invoice_for(telegram, ann))
        await settle(0.5)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM payments")
    for _ in range(2):  # credited once, however often the bot starts
        async with start_bot(stars_packs=PACKS, database_path=db) as runtime:
            await settle(0.5)
            assert await runtime.ledger.spending.balance(ann["id"]) == 20
            stored = await runtime.ledger.payments.get(str(paid.charge_id))
            assert stored is not None and stored.images == 20


async def test_paysupport_forwards_the_question_to_the_admins(
    start_bot: StartBot, telegram: FakeTelegram, ann: Json
) -> None:
    admin = telegram.user(ADMIN, "Boss")
    async with start_bot(stars_packs=PACKS, admin_user_ids=str(ADMIN)):
        await ask(telegram, admin, "/help")
        assert "/paysupport" in await ask(telegram, ann, "/paysupport")
        assert "Sent to the bot's admins" in await ask(
            telegram, ann, "/paysupport charge stx1 failed"
        )
        await settle(0.5)
    assert any("stx1 failed" in t for t in texts_to(telegram, ADMIN))

"""The fake Bot API's Telegram Stars payments, driven over HTTP by PTB's own `Bot`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    ReplyParameters,
    TransactionPartnerUser,
)
from telegram.error import BadRequest

from tests.fakes.telegram import FakeTelegram, JsonDict, PaymentAttempt


async def _invoice(bot: Bot, chat_id: int, amount: int = 50, **options: Any) -> Message:
    fields: dict[str, Any] = {
        "title": "50 credits",
        "description": "Fifty images",
        "payload": "credits:50",
        "currency": "XTR",
        "prices": [LabeledPrice("50 credits", amount)],
        **options,
    }
    return await bot.send_invoice(chat_id, **fields)


async def _answer_next(bot: Bot, offset: int = 0, **answer: Any) -> int:
    """Wait for a pre_checkout_query and answer it; the next offset."""
    while True:
        for update in await bot.get_updates(offset=offset, timeout=5):
            offset = update.update_id + 1
            if update.pre_checkout_query is not None:
                await bot.answer_pre_checkout_query(update.pre_checkout_query.id, **answer)
                return offset


async def _paid(fake: FakeTelegram, bot: Bot, user: JsonDict, message: Message) -> PaymentAttempt:
    payment = asyncio.create_task(fake.pay(user, message.to_dict()))
    await _answer_next(bot, ok=True)
    return await payment


async def test_an_invoice_is_sent_as_telegram_answers_it(fake: FakeTelegram, bot: Bot) -> None:
    ann = fake.user(1, "Ann")
    chat = fake.private_chat(ann)
    asked = fake.send_text(ann, chat, "/buy")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Pay ⭐50", pay=True)]])

    message = await _invoice(
        bot, chat["id"], reply_markup=markup, reply_parameters=ReplyParameters(asked["message_id"])
    )

    assert message.invoice is not None
    assert (message.invoice.title, message.invoice.description) == ("50 credits", "Fifty images")
    assert (message.invoice.currency, message.invoice.total_amount) == ("XTR", 50)
    assert message.invoice.start_parameter == ""
    assert message.reply_to_message is not None and message.reply_markup == markup
    assert [i.payload for i in fake.invoices] == ["credits:50"]
    assert fake.invoices[0].prices == [{"label": "50 credits", "amount": 50}]
    assert fake.sent_messages(chat["id"])[-1]["invoice"]["total_amount"] == 50


async def test_an_invoice_in_a_forum_topic(fake: FakeTelegram, bot: Bot) -> None:
    forum = fake.forum(topics=["Shop"])
    shop = fake.topics(forum)["Shop"]
    message = await _invoice(bot, forum["id"], message_thread_id=shop)
    assert (message.message_thread_id, message.is_topic_message) == (shop, True)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await _invoice(bot, forum["id"], message_thread_id=1)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"provider_token": "284685063:TEST:abc"}, "STARS_INVOICE_INVALID"),
        (
            {"prices": [LabeledPrice("a", 10), LabeledPrice("b", 5)]},
            "STARS_INVOICE_INVALID",
        ),
        ({"max_tip_amount": 10, "suggested_tip_amounts": [5]}, "STARS_INVOICE_INVALID"),
        ({"currency": "USD", "provider_token": "284685063:TEST:abc"}, "PAYMENT_PROVIDER_INVALID"),
        ({"prices": []}, "there must be at least one price"),
        ({"prices": [LabeledPrice("zero", 0)]}, "total price must be positive"),
        ({"title": ""}, 'parameter "title" is required'),
        ({"title": "t" * 33}, "TITLE_INVALID"),
        ({"description": "d" * 256}, "DESCRIPTION_INVALID"),
        ({"payload": "p" * 129}, "INVOICE_PAYLOAD_INVALID"),
        (
            {
                "reply_markup": InlineKeyboardMarkup(
                    [[InlineKeyboardButton("x", url="https://a.b")]]
                )
            },
            "REPLY_MARKUP_BUY_EMPTY",
        ),
    ],
)
async def test_invalid_invoices_are_refused_as_telegram_does(
    fake: FakeTelegram, bot: Bot, options: dict[str, Any], error: str
) -> None:
    chat = fake.private_chat(fake.user(1))
    with pytest.raises(BadRequest):
        await _invoice(bot, chat["id"], **options)
    assert fake.calls_of("sendInvoice")[-1].error == f"Bad Request: {error}"  # the exact text
    assert fake.invoices == [] and fake.violations == []


async def test_limits_are_inclusive(fake: FakeTelegram, bot: Bot) -> None:
    chat = fake.private_chat(fake.user(1))
    # the longest of each: 32 characters, 255 characters, 128 bytes
    options: dict[str, Any] = {"title": "t" * 32, "description": "d" * 255, "payload": "é" * 64}
    message = await _invoice(bot, chat["id"], provider_token="", **options)
    assert message.invoice is not None and len(message.invoice.title) == 32


async def test_an_accepted_payment_pushes_the_successful_payment(
    fake: FakeTelegram, bot: Bot
) -> None:
    ann = fake.user(1, "Ann")
    message = await _invoice(bot, fake.private_chat(ann)["id"])
    payment = asyncio.create_task(fake.pay(ann, message.to_dict()))

    [query_update] = await bot.get_updates(timeout=5)
    query = query_update.pre_checkout_query
    assert query is not None and query.from_user.id == 1
    assert (query.currency, query.total_amount, query.invoice_payload) == ("XTR", 50, "credits:50")
    assert await bot.answer_pre_checkout_query(query.id, ok=True)
    attempt = await payment

    assert attempt.answered and attempt.accepted and attempt.error_message is None
    [paid_update] = await bot.get_updates(offset=query_update.update_id + 1)
    assert paid_update.message is not None and paid_update.message.chat.id == 1
    paid = paid_update.message.successful_payment
    assert paid is not None and paid.telegram_payment_charge_id == attempt.charge_id
    assert (paid.currency, paid.total_amount, paid.invoice_payload) == ("XTR", 50, "credits:50")
    assert paid.provider_payment_charge_id
    assert attempt.update is not None and attempt.update["update_id"] == paid_update.update_id
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):  # answered once only
        await bot.answer_pre_checkout_query(query.id, ok=True)


async def test_charge_ids_are_unique_and_a_payment_can_be_redelivered(
    fake: FakeTelegram, bot: Bot
) -> None:
    ann = fake.user(1)
    message = await _invoice(bot, fake.private_chat(ann)["id"])
    first = await _paid(fake, bot, ann, message)
    second = asyncio.create_task(fake.pay(ann, message.to_dict()))
    await _answer_next(bot, offset=first.update["update_id"] + 1 if first.update else 0, ok=True)
    again = await second
    assert first.charge_id and again.charge_id and first.charge_id != again.charge_id

    assert first.update is not None and again.update is not None
    redelivered = fake.redeliver(first.update)
    [update] = await bot.get_updates(offset=again.update["update_id"] + 1)
    assert redelivered["update_id"] == update.update_id > first.update["update_id"]
    assert update.message is not None and update.message.successful_payment is not None
    assert update.message.successful_payment.telegram_payment_charge_id == first.charge_id
    assert len(fake.transactions) == 2  # a redelivery is no new payment


async def test_a_declined_payment_gives_the_bot_message(fake: FakeTelegram, bot: Bot) -> None:
    ann = fake.user(1)
    message = await _invoice(bot, fake.private_chat(ann)["id"])
    payment = asyncio.create_task(fake.pay(ann, message.to_dict()))
    [update] = await bot.get_updates(timeout=5)
    assert update.pre_checkout_query is not None
    with pytest.raises(BadRequest, match=r'(?i)parameter "error_message" is required'):
        await bot.answer_pre_checkout_query(update.pre_checkout_query.id, ok=False)
    await bot.answer_pre_checkout_query(
        update.pre_checkout_query.id, ok=False, error_message="Sold"
    )
    attempt = await payment
    assert (attempt.answered, attempt.accepted, attempt.error_message) == (True, False, "Sold")
    assert attempt.charge_id is None and fake.transactions == []
    assert await bot.get_updates(offset=update.update_id + 1) == ()


async def test_a_late_answer_is_refused(fake: FakeTelegram, bot: Bot) -> None:
    ann = fake.user(1)
    message = await _invoice(bot, fake.private_chat(ann)["id"])
    fake.pre_checkout_timeout = 0.2
    attempt = await fake.pay(ann, message.to_dict())
    [update] = await bot.get_updates()
    assert update.pre_checkout_query is not None
    with pytest.raises(BadRequest, match=r"(?i)query is too old and response timeout expired"):
        await bot.answer_pre_checkout_query(update.pre_checkout_query.id, ok=True)
    assert (attempt.answered, attempt.accepted, attempt.update) == (False, False, None)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_pre_checkout_query("123", ok=True)
    with pytest.raises(ValueError, match="not an invoice"):
        await fake.pay(ann, fake.send_text(ann, fake.private_chat(ann), "hi"))


async def test_refund_then_double_refund(fake: FakeTelegram, bot: Bot) -> None:
    ann, bob = fake.user(1, "Ann"), fake.user(2, "Bob")
    message = await _invoice(bot, fake.private_chat(ann)["id"])
    attempt = await _paid(fake, bot, ann, message)
    assert attempt.charge_id is not None

    with pytest.raises(BadRequest, match=r"(?i)CHARGE_NOT_FOUND"):
        await bot.refund_star_payment(1, "stxNoSuchCharge")
    with pytest.raises(BadRequest, match=r"(?i)CHARGE_NOT_FOUND"):  # another user's charge
        await bot.refund_star_payment(bob["id"], attempt.charge_id)
    with pytest.raises(BadRequest, match=r"(?i)invalid user_id specified"):
        await bot.refund_star_payment(0, attempt.charge_id)
    assert await bot.refund_star_payment(1, attempt.charge_id)
    with pytest.raises(BadRequest, match=r"(?i)CHARGE_ALREADY_REFUNDED"):
        await bot.refund_star_payment(1, attempt.charge_id)

    assert fake.is_refunded(attempt.charge_id)
    [refund] = fake.refunds
    assert (refund["id"], refund["amount"], refund["receiver"]["user"]["id"]) == (
        attempt.charge_id,
        50,
        1,
    )
    notices = [
        u["message"] for u in fake.pending_updates if "refunded_payment" in u.get("message", {})
    ]
    assert notices[0]["refunded_payment"]["telegram_payment_charge_id"] == attempt.charge_id


async def test_star_transactions_in_chronological_order_with_paging(
    fake: FakeTelegram, bot: Bot
) -> None:
    ann = fake.user(1)
    charges = []
    offset = 0
    for amount in (10, 20, 30):
        message = await _invoice(bot, fake.private_chat(ann)["id"], amount=amount)
        payment = asyncio.create_task(fake.pay(ann, message.to_dict()))
        offset = await _answer_next(bot, offset, ok=True)
        charges.append((await payment).charge_id)
    assert charges[0] is not None
    await bot.refund_star_payment(1, charges[0])

    everything = await bot.get_star_transactions()
    assert [(t.id, t.amount) for t in everything.transactions] == [
        (charges[0], 10),
        (charges[1], 20),
        (charges[2], 30),
        (charges[0], 10),
    ]
    first, refund = everything.transactions[0], everything.transactions[3]
    assert isinstance(first.source, TransactionPartnerUser) and first.receiver is None
    assert first.source.transaction_type == "invoice_payment"
    assert first.source.invoice_payload == "credits:50" and first.source.user.id == 1
    assert isinstance(refund.receiver, TransactionPartnerUser) and refund.source is None

    page = await bot.get_star_transactions(offset=1, limit=2)
    assert [t.id for t in page.transactions] == charges[1:3]
    assert len((await bot.get_star_transactions(offset=3, limit=0)).transactions) == 1  # 1..100
    assert (await bot.get_star_transactions(offset=10)).transactions == ()
    assert [t["id"] for t in fake.transactions] == [*charges, charges[0]]

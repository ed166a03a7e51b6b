"""Selling images for Telegram Stars, and its routes: /buy, the pack buttons, the invoice,
the pre-checkout answer, the successful payment, /paysupport, and the admin's /refund.

    /buy, a pack button ─ sendInvoice (XTR, one price, no provider token)
    pre_checkout_query  ─ shop.checkout_refusal() ─ answerPreCheckoutQuery (ok, or why not)
    successful_payment  ─ shop.credit()            ─ "thank you", with the balance

A payment is credited once per `telegram_payment_charge_id`. PTB confirms a batch of
updates when it fetches the next one, so a crash can lose a `successful_payment` Telegram
will not send again: at start-up (`reconcile_payments`) every paid Star transaction the
ledger lacks is credited, once, like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    StarTransaction,
    TransactionPartnerUser,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    filters,
)

from bot import texts
from bot.core.shop import CURRENCY, Paid, Shop
from bot.money import Pack
from bot.tg.context import BotContext
from bot.tg.reading import NEW_MESSAGES, message_of, requester_of
from bot.tg.sending import answer

log = logging.getLogger(__name__)

BUY = "buy"
#: getStarTransactions answers at most this many per call.
PAGE = 100


def routes() -> list[BaseHandler[Update, BotContext, None]]:
    """The handlers of this module."""
    return [
        CommandHandler("buy", buy, filters=NEW_MESSAGES),
        CommandHandler("paysupport", pay_support, filters=NEW_MESSAGES),
        CommandHandler("refund", refund, filters=NEW_MESSAGES),
        CallbackQueryHandler(press_pack, pattern=rf"^{BUY}:"),
        PreCheckoutQueryHandler(check_out),
        MessageHandler(filters.SUCCESSFUL_PAYMENT, credit_payment),
    ]


def pack_buttons(packs: Sequence[Pack], lang: str) -> InlineKeyboardMarkup:
    """One button per pack: "20 images for 50 ⭐"."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.tr(
                        lang, "buy_button", images=texts.images(lang, p.images), stars=p.stars
                    ),
                    callback_data=f"{BUY}:{p.images}",
                )
            ]
            for p in packs
        ]
    )


async def buy(update: Update, context: BotContext) -> None:
    """The packs as buttons (/buy), or the invoice of one (/buy 20)."""
    message = message_of(update)
    requester = requester_of(message)
    shop, lang = context.deps.shop, requester.language
    await context.deps.access.admit(requester)
    if not shop.open:
        await answer(message, texts.tr(lang, "buy_off"))
    elif not requester.private:
        link = InlineKeyboardButton(
            texts.tr(lang, "buy_open_private"), url=f"https://t.me/{context.bot.username}?start=buy"
        )
        await answer(message, texts.tr(lang, "buy_in_private"), InlineKeyboardMarkup([[link]]))
    elif context.args and context.args[0].isdecimal():
        await _invoice_or_explain(message, context, int(context.args[0]), lang)
    else:
        await show_packs(message, shop, lang)


async def show_packs(message: Message, shop: Shop, lang: str) -> None:
    """The packs on sale, one button each."""
    await answer(message, texts.tr(lang, "buy_packs"), pack_buttons(shop.packs, lang))


async def _invoice_or_explain(
    message: Message, context: BotContext, images: int, lang: str
) -> None:
    pack = context.deps.shop.pack(images)
    if pack is None:
        on_sale = ", ".join(str(p.images) for p in context.deps.shop.packs)
        await answer(
            message,
            texts.tr(lang, "buy_unknown_pack", images=texts.images(lang, images), packs=on_sale),
        )
        return
    await send_invoice(context.bot, message.chat_id, pack, message.chat_id, lang)


async def send_invoice(bot: Bot, chat_id: int, pack: Pack, buyer: int, lang: str) -> None:
    """`sendInvoice` for `pack`: Stars (XTR), one price, no provider token."""
    images = texts.images(lang, pack.images)
    await bot.send_invoice(
        chat_id,
        title=texts.tr(lang, "invoice_title", images=images),
        description=texts.tr(lang, "invoice_description", images=images),
        payload=pack.payload(buyer),
        currency=CURRENCY,
        prices=[LabeledPrice(images, pack.stars)],
    )


async def press_pack(update: Update, context: BotContext) -> None:
    """A pack button: its invoice, in the presser's private chat."""
    query = update.callback_query
    assert query is not None
    user, lang = query.from_user, texts.language(query.from_user.language_code)
    pack = context.deps.shop.pack(_images_of(query))
    await _acknowledge(query)
    if pack is not None:
        await send_invoice(context.bot, user.id, pack, user.id, lang)


def _images_of(query: CallbackQuery) -> int:
    raw = (query.data or "").partition(":")[2]
    return int(raw) if raw.isdecimal() else 0


async def _acknowledge(query: CallbackQuery) -> None:
    try:
        await query.answer()
    except TelegramError as exc:
        log.info("pack button not acknowledged: %s", exc)


async def check_out(update: Update, context: BotContext) -> None:
    """Answer the pre-checkout query at once: ok, or why not in the buyer's language."""
    query = update.pre_checkout_query
    assert query is not None
    lang = texts.language(query.from_user.language_code)
    refusal = await context.deps.shop.checkout_refusal(
        query.from_user.id, query.invoice_payload, query.currency, query.total_amount
    )
    if refusal is None:
        await query.answer(ok=True)
    else:
        await query.answer(ok=False, error_message=texts.tr(lang, refusal))


async def credit_payment(update: Update, context: BotContext) -> None:
    """Credit the pack (once per charge id) and thank the buyer with the new balance."""
    message = message_of(update)
    payment = message.successful_payment
    assert payment is not None and message.from_user is not None
    credited = await context.deps.shop.credit(
        Paid(
            payment.telegram_payment_charge_id,
            message.from_user.id,
            payment.total_amount,
            payment.invoice_payload,
            payment.provider_payment_charge_id,
        )
    )
    if credited.new:
        lang = texts.language(message.from_user.language_code)
        images = texts.images(lang, credited.images)
        await answer(message, texts.tr(lang, "pay_thanks", images=images, credits=credited.balance))


async def pay_support(update: Update, context: BotContext) -> None:
    """How buyers reach the admins (/paysupport, which Telegram requires); with a question
    after the command, the question goes to the admins."""
    message = message_of(update)
    requester = requester_of(message)
    lang = requester.language
    question = " ".join(context.args or [])
    if not question:
        await answer(message, texts.tr(lang, "paysupport"))
        return
    who = (
        f"@{requester.username} ({requester.user_id})"
        if requester.username
        else str(requester.user_id)
    )
    context.deps.admins.tell_admins("paysupport_forward", {"who": who, "text": question[:1000]})
    await answer(message, texts.tr(lang, "paysupport_sent"))


async def refund(update: Update, context: BotContext) -> None:
    """Refund a payment and take its images back (admin: /refund <charge id>)."""
    message = message_of(update)
    requester = requester_of(message)
    await context.deps.access.admit_admin(requester)
    lang, shop = requester.language, context.deps.shop
    charge_id = context.args[0] if context.args and len(context.args) == 1 else ""
    stored = await shop.payment(charge_id) if charge_id else None
    if not charge_id:
        await answer(message, texts.tr(lang, "refund_usage"))
        return
    if stored is None:
        await answer(message, texts.tr(lang, "refund_unknown"))
        return
    try:
        await context.bot.refund_star_payment(stored.user_id, charge_id)
    except TelegramError as exc:
        await answer(message, texts.tr(lang, "refund_refused", reason=exc.message))
        return
    taken = await shop.refunded(charge_id) or 0
    await answer(
        message,
        texts.tr(
            lang,
            "refund_done",
            stars=stored.stars,
            user=stored.user_id,
            taken=texts.images(lang, taken),
        ),
    )


async def star_payments(bot: Bot) -> list[Paid]:
    """Every user payment Telegram has on record for the bot, refunds marked."""
    transactions: list[StarTransaction] = []
    while True:
        page = await bot.get_star_transactions(offset=len(transactions), limit=PAGE)
        transactions.extend(page.transactions)
        if len(page.transactions) < PAGE:
            break
    refunded = {t.id for t in transactions if isinstance(t.receiver, TransactionPartnerUser)}
    return [
        Paid(t.id, t.source.user.id, t.amount, t.source.invoice_payload or "", "", t.id in refunded)
        for t in transactions
        if isinstance(t.source, TransactionPartnerUser) and t.source.invoice_payload
    ]


async def reconcile_payments(bot: Bot, shop: Shop) -> None:
    """Credit every paid Star transaction the ledger lacks (a crash lost its update)."""
    if not shop.open:
        return
    try:
        payments = await star_payments(bot)
    except TelegramError as exc:
        log.warning("could not read Telegram's Star transactions to reconcile: %s", exc)
        return
    for difference in await shop.reconcile(payments, credit_missing=True):
        log.warning("payments: %s", difference)

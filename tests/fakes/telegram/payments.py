"""Telegram Stars: sendInvoice, pre-checkout queries, successful payments, refunds and the
bot's Star transactions; `pay` plays the user who pays.

Error texts: the Bot API's own checks are read from tdlib/telegram-bot-api (`Client.cpp`: a
required string that is empty, the prices JSON, ``QUERY_ID_INVALID`` rewritten as "query is
too old ...", TDLib's sentences with their first letter lowered); Telegram's server answers
(``STARS_INVOICE_INVALID``, ``PAYMENT_PROVIDER_INVALID``, ``CHARGE_ALREADY_REFUNDED``) as
bots report them; the limits from the Bot API's text. Only Stars ("XTR") are emulated.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from dataclasses import dataclass
from typing import Any

from telegram import PreCheckoutQuery, StarTransaction

from tests.fakes.telegram.records import ApiError, Call, JsonDict
from tests.fakes.telegram.sending import Sending
from tests.fakes.telegram.world import shaped

QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
STARS_INVOICE_INVALID = "Bad Request: STARS_INVOICE_INVALID"
PROVIDER_INVALID = "Bad Request: PAYMENT_PROVIDER_INVALID"
CHARGE_NOT_FOUND = "Bad Request: CHARGE_NOT_FOUND"  # Telegram's error for an unknown charge id
CHARGE_ALREADY_REFUNDED = "Bad Request: CHARGE_ALREADY_REFUNDED"
_PRICE = "Bad Request: can't parse labeled price: "
#: Telegram's server limits (Bot API: title 1-32 characters, description 1-255, payload 1-128
#: bytes); the error names exist in Telegram's list, their use for these limits is assumed.
_LIMITS = (
    ("title", 32, "Bad Request: TITLE_INVALID"),
    ("description", 255, "Bad Request: DESCRIPTION_INVALID"),
)
PAYLOAD_INVALID = "Bad Request: INVOICE_PAYLOAD_INVALID"


def _required(params: JsonDict, name: str) -> str:
    """A string parameter the Bot API requires non-empty (Client.cpp get_required_string_arg)."""
    value = params.get(name)
    if value is None or value == "":
        raise ApiError(400, f'Bad Request: parameter "{name}" is required')
    return str(value)


def _prices(prices: object) -> list[JsonDict]:
    """The LabeledPrice list as the Bot API reads it (Client.cpp get_labeled_price_parts)."""
    if not isinstance(prices, list):
        raise ApiError(400, "Bad Request: expected an Array of labeled prices")
    for price in prices:
        if not isinstance(price, dict):
            raise ApiError(400, _PRICE + "LabeledPrice must be an Object")
        if not price.get("label") or not isinstance(price["label"], str):
            raise ApiError(400, _PRICE + "LabeledPrice label must be non-empty")
        if not isinstance(price.get("amount"), int) or isinstance(price["amount"], bool):
            raise ApiError(400, _PRICE + 'Field "amount" must be a valid Number')
    if not prices:
        raise ApiError(400, "Bad Request: there must be at least one price")
    return [{"label": p["label"], "amount": p["amount"]} for p in prices]


@dataclass
class SentInvoice:
    """An invoice the bot sent: the Message as answered, and what only the bot knows."""

    message: JsonDict
    payload: str
    prices: list[JsonDict]


@dataclass
class PaymentAttempt:
    """How `pay` went: ``answered`` False when the bot did not answer in time; ``update`` is
    the successful_payment Update, which `redeliver` pushes again."""

    query_id: str
    answered: bool
    accepted: bool
    error_message: str | None = None
    charge_id: str | None = None
    update: JsonDict | None = None


@dataclass
class _Charge:
    user: JsonDict
    amount: int
    payload: str
    provider_charge_id: str
    refunded: bool = False


class FakeTelegram(Sending):
    """A local Bot API server plus the test-side controls to play users (see the package)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Every invoice the bot sent, in order.
        self.invoices: list[SentInvoice] = []
        #: The bot's StarTransactions, in chronological order (getStarTransactions' view).
        self.transactions: list[JsonDict] = []
        #: Seconds Telegram waits for answerPreCheckoutQuery (10 in the Bot API).
        self.pre_checkout_timeout = 10.0
        self._invoice_at: dict[tuple[int, int], SentInvoice] = {}
        self._pre_checkouts: dict[str, asyncio.Future[JsonDict]] = {}
        self._charges: dict[str, _Charge] = {}
        self._payment_numbers = itertools.count(1)
        self._methods.update(
            sendInvoice=self._send_invoice,
            answerPreCheckoutQuery=self._answer_pre_checkout_query,
            refundStarPayment=self._refund_star_payment,
            getStarTransactions=self._get_star_transactions,
        )

    @property
    def refunds(self) -> list[JsonDict]:
        """The outgoing (refund) transactions, in order."""
        return [t for t in self.transactions if "receiver" in t]

    def is_refunded(self, charge_id: str) -> bool:
        return charge_id in self._charges and self._charges[charge_id].refunded

    # ---------------------------------------------------------------- the bot's methods

    async def _send_invoice(self, call: Call) -> JsonDict:
        params = call.params
        title, description = _required(params, "title"), _required(params, "description")
        payload, currency = _required(params, "payload"), _required(params, "currency")
        prices = _prices(params.get("prices"))
        chat, fields = self._check_send(params)
        total = sum(p["amount"] for p in prices)
        if total <= 0:
            raise ApiError(400, "Bad Request: total price must be positive")  # TDLib
        if currency != "XTR":
            raise ApiError(400, PROVIDER_INVALID)  # no provider is connected to this fake
        tips = params.get("max_tip_amount") or params.get("suggested_tip_amounts")
        if params.get("provider_token") or len(prices) != 1 or tips:
            raise ApiError(400, STARS_INVOICE_INVALID)
        for name, limit, error in _LIMITS:
            if len(str(params[name])) > limit:
                raise ApiError(400, error)
        if len(payload.encode()) > 128:
            raise ApiError(400, PAYLOAD_INVALID)
        keyboard = (fields.get("reply_markup") or {}).get("inline_keyboard")
        if keyboard and not (keyboard[0] and keyboard[0][0].get("pay") is True):
            raise ApiError(400, "Bad Request: REPLY_MARKUP_BUY_EMPTY")  # "must be a Pay button"
        invoice = {
            "title": title,
            "description": description,
            "start_parameter": str(params.get("start_parameter") or ""),
            "currency": currency,
            "total_amount": total,
        }
        message = self._bot_message(chat, fields, invoice=invoice)
        sent = SentInvoice(message, payload, prices)
        self.invoices.append(sent)
        self._invoice_at[(chat["id"], message["message_id"])] = sent
        return message

    async def _answer_pre_checkout_query(self, call: Call) -> bool:
        ok = bool(call.params.get("ok"))
        error = None if ok else _required(call.params, "error_message")
        waiting = self._pre_checkouts.pop(str(call.params.get("pre_checkout_query_id")), None)
        if waiting is None or waiting.done():
            raise ApiError(400, QUERY_TOO_OLD)
        waiting.set_result({"ok": ok, "error_message": error})
        return True

    async def _refund_star_payment(self, call: Call) -> bool:
        user_id = call.params.get("user_id")
        if not isinstance(user_id, int) or user_id <= 0:
            raise ApiError(400, "Bad Request: invalid user_id specified")
        charge_id = _required(call.params, "telegram_payment_charge_id")
        charge = self._charges.get(charge_id)
        if charge is None or charge.user["id"] != user_id:
            raise ApiError(400, CHARGE_NOT_FOUND)
        if charge.refunded:
            raise ApiError(400, CHARGE_ALREADY_REFUNDED)
        charge.refunded = True
        self._add_transaction(charge_id, charge, "receiver")
        refunded = {
            "currency": "XTR",
            "total_amount": charge.amount,
            "invoice_payload": charge.payload,
            "telegram_payment_charge_id": charge_id,
        }
        user = charge.user
        self.send_message(user, self.private_chat(user), refunded_payment=refunded)
        return True

    async def _get_star_transactions(self, call: Call) -> JsonDict:
        # Client.cpp: offset clamped to >= 0, limit to 1..100 (default 100); never an error
        offset, limit = call.params.get("offset"), call.params.get("limit")
        offset = max(offset, 0) if isinstance(offset, int) else 0
        limit = min(max(limit, 1), 100) if isinstance(limit, int) and limit else 100
        return {"transactions": self.transactions[offset : offset + limit]}

    # ---------------------------------------------------------------- the test side

    async def pay(
        self,
        user: JsonDict,
        invoice_message: JsonDict,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - Telegram's deadline is the point
    ) -> PaymentAttempt:
        """``user`` pays the invoice: pushes the pre_checkout_query, waits for the bot's answer
        (`pre_checkout_timeout`, 10 s as Telegram, or ``timeout``); when accepted, pushes the
        successful_payment message in the user's private chat with the bot and records the
        incoming StarTransaction. Raises ValueError for a message that is no invoice."""
        key = (invoice_message["chat"]["id"], invoice_message["message_id"])
        sent = self._invoice_at.get(key)
        if sent is None:
            raise ValueError(f"message {key} is not an invoice the bot sent")
        invoice = sent.message["invoice"]
        query_id = str(5_000_000_000_000_000_000 + next(self._ids))
        query = {
            "id": query_id,
            "from": user,
            "currency": invoice["currency"],
            "total_amount": invoice["total_amount"],
            "invoice_payload": sent.payload,
        }
        self._users.setdefault(user["id"], user)
        waiting: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        self._pre_checkouts[query_id] = waiting
        self.push_update(self.make_update(pre_checkout_query=shaped(PreCheckoutQuery, query)))
        try:
            async with asyncio.timeout(self.pre_checkout_timeout if timeout is None else timeout):
                answer = await waiting
        except TimeoutError:
            self._pre_checkouts.pop(query_id, None)  # a late answer gets QUERY_TOO_OLD
            return PaymentAttempt(query_id, answered=False, accepted=False)
        if not answer["ok"]:
            return PaymentAttempt(query_id, True, False, error_message=answer["error_message"])
        charge_id = "stx" + secrets.token_urlsafe(48)  # the shape of Telegram's Stars charge ids
        charge = _Charge(
            user,
            invoice["total_amount"],
            sent.payload,
            f"{user['id']}_{next(self._payment_numbers)}",
        )
        self._charges[charge_id] = charge
        payment = {
            "currency": invoice["currency"],
            "total_amount": charge.amount,
            "invoice_payload": charge.payload,
            "telegram_payment_charge_id": charge_id,
            "provider_payment_charge_id": charge.provider_charge_id,
        }
        chat = self.private_chat(user)
        update = self.send_message(user, chat, successful_payment=payment, push=False)
        self._add_transaction(charge_id, charge, "source")
        self.push_update(update)
        return PaymentAttempt(query_id, True, True, charge_id=charge_id, update=update)

    def redeliver(self, update: JsonDict, *, new_id: bool = True) -> JsonDict:
        """Push an update again, as a duplicate delivery: a copy under a new update_id (what
        a poller past the first one still receives), or with ``new_id=False`` the same id
        (seen by a webhook; a poller whose offset is past it never gets it)."""
        again = {k: v for k, v in update.items() if k != "update_id" or not new_id}
        return self.push_update(again)

    def _add_transaction(self, charge_id: str, charge: _Charge, side: str) -> None:
        partner = {
            "type": "user",
            "transaction_type": "invoice_payment",
            "user": charge.user,
            "invoice_payload": charge.payload,
        }
        transaction = {
            "id": charge_id,  # a refund keeps the id of the payment it refunds
            "amount": charge.amount,
            "date": int(time.time()),
            side: partner,
        }
        self.transactions.append(shaped(StarTransaction, transaction))

"""Images sold for Telegram Stars (SPEC section 3, "Buying images with Telegram Stars").

The rules, without Telegram: which packs exist, whether a checkout may go ahead, crediting a
payment exactly once per charge id (a redelivered update, or a payment found again when
reconciling, adds nothing), refunds that take back at most what the balance holds, and the
differences between Telegram's record of payments and the ledger's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.access import Access
from bot.ledger import Ledger
from bot.money import Pack, Payment

log = logging.getLogger(__name__)

CURRENCY = "XTR"


@dataclass(frozen=True, slots=True)
class Paid:
    """A payment as Telegram reports it (a successful_payment, or a Star transaction)."""

    charge_id: str
    user_id: int
    stars: int
    payload: str
    provider_charge_id: str = ""
    refunded: bool = False


@dataclass(frozen=True, slots=True)
class Credited:
    """What crediting a payment did."""

    new: bool
    images: int
    balance: int


class Shop:
    """The packs on sale and the payments made for them."""

    def __init__(self, packs: Sequence[Pack], ledger: Ledger, access: Access) -> None:
        self.packs = tuple(packs)
        self._ledger = ledger
        self._access = access

    @property
    def open(self) -> bool:
        """Whether the bot sells anything (`STARS_PACKS` is set)."""
        return bool(self.packs)

    def pack(self, images: int) -> Pack | None:
        """The pack of `images`, if it is on sale."""
        return next((pack for pack in self.packs if pack.images == images), None)

    async def checkout_refusal(
        self, buyer: int, payload: str, currency: str, total: int
    ) -> str | None:
        """None if the checkout may go ahead; else the key of the sentence that says why."""
        named = Pack.from_payload(payload)
        if named is None or currency != CURRENCY:
            return "pay_unknown"
        pack, payer = named
        if payer != buyer or pack not in self.packs or total != pack.stars:
            return "pay_unknown"
        if not await self._access.allows(buyer, buyer):
            return "pay_banned"
        if (await self._ledger.users.get(buyer)).switched_off:  # the credits could not be spent
            return "pay_banned"
        return None

    async def credit(self, paid: Paid) -> Credited:
        """Add the payment's images to the buyer's credits, once per charge id."""
        named = Pack.from_payload(paid.payload)
        images = named[0].images if named else 0
        new = await self._ledger.payments.add(
            paid.charge_id, paid.user_id, images, paid.stars, paid.payload, paid.provider_charge_id
        )
        balance = await self._ledger.spending.balance(paid.user_id)
        if new:
            log.info(
                "payment %s: user %d bought %d images for %d stars",
                paid.charge_id,
                paid.user_id,
                images,
                paid.stars,
            )
        return Credited(new, images, balance)

    async def payment(self, charge_id: str) -> Payment | None:
        """A payment in the ledger."""
        return await self._ledger.payments.get(charge_id)

    async def refunded(self, charge_id: str) -> int | None:
        """Record that Telegram refunded the payment; the images taken back from the
        balance, or None if the ledger holds no paid payment with that id."""
        return await self._ledger.payments.refund(charge_id)

    async def reconcile(self, telegram: Iterable[Paid], *, credit_missing: bool) -> list[str]:
        """Every difference between Telegram's payments and the ledger's, as a sentence;
        with `credit_missing` (start-up), payments the ledger lacks are credited (once), and
        refunds it missed (a crash between Telegram's refund and the ledger) are recorded."""
        differences: list[str] = []
        seen: set[str] = set()
        for paid in telegram:
            seen.add(paid.charge_id)
            stored = await self._ledger.payments.get(paid.charge_id)
            if stored is None:
                if credit_missing and not paid.refunded:
                    await self.credit(paid)
                    differences.append(f"{paid.charge_id}: paid at Telegram, credited now")
                else:
                    differences.append(f"{paid.charge_id}: at Telegram, not in the ledger")
            elif paid.refunded and stored.status != "refunded":
                if credit_missing:
                    taken = await self._ledger.payments.refund(paid.charge_id)
                    differences.append(
                        f"{paid.charge_id}: refunded at Telegram, marked now ({taken} taken back)"
                    )
                else:
                    differences.append(
                        f"{paid.charge_id}: refunded at Telegram, paid in the ledger"
                    )
            elif stored.stars != paid.stars:
                at = f"{paid.stars} stars at Telegram, {stored.stars} in the ledger"
                differences.append(f"{paid.charge_id}: {at}")
        differences.extend(
            [
                f"{stored.charge_id}: in the ledger, not at Telegram"
                async for stored in self._ledger.payments.since("")
                if stored.charge_id not in seen
            ]
        )
        return differences

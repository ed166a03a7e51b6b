"""Telegram Stars payments: each credited once, by its `telegram_payment_charge_id`.

`add` is an `INSERT … ON CONFLICT DO NOTHING` on the charge id, so an update delivered
twice, or a payment found again when reconciling, credits nothing the second time. A
refund keeps the row (status `refunded`) and records in the same statement how many of its
images it took back: up to the pack's, never more than the balance holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiosqlite

from bot.ledger.requests import utc_now
from bot.ledger.rows import fetch_one
from bot.ledger.spending import BALANCE
from bot.money import Payment

_COLUMNS = "charge_id, user_id, images, stars, status, created_at, provider_charge_id, clawed_back"


class PaymentStore:
    """The `payments` table."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def add(
        self,
        charge_id: str,
        user_id: int,
        images: int,
        stars: int,
        payload: str,
        provider: str = "",
    ) -> bool:
        """Credit a payment; False if this charge id was credited already."""
        cursor = await self._db.execute(
            "INSERT INTO payments (charge_id, provider_charge_id, user_id, images, stars,"
            " payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (charge_id, provider, user_id, images, stars, payload, utc_now()),
        )
        return cursor.rowcount == 1

    async def get(self, charge_id: str) -> Payment | None:
        """One payment by its Telegram charge id."""
        row = await fetch_one(
            self._db, f"SELECT {_COLUMNS} FROM payments WHERE charge_id = ?", (charge_id,)
        )
        return _payment(row) if row else None

    async def refund(self, charge_id: str) -> int | None:
        """Mark a paid payment refunded, taking back what the balance allows; how many
        images were taken back, or None if it was not a paid payment."""
        row = await fetch_one(
            self._db,
            "UPDATE payments SET status = 'refunded', refunded_at = :now, clawed_back ="
            f" MIN(images, MAX(0, {BALANCE})) WHERE charge_id = :charge AND status = 'paid'"
            " RETURNING clawed_back",
            {"now": utc_now(), "charge": charge_id, "user": await self._owner(charge_id)},
        )
        return None if row is None else int(row["clawed_back"])

    async def since(self, day: str) -> AsyncIterator[Payment]:
        """Payments made on or after `day` (UTC), oldest first."""
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM payments WHERE created_at >= ? ORDER BY created_at",
            (day,),
        ) as cursor:
            async for row in cursor:
                yield _payment(row)

    async def _owner(self, charge_id: str) -> int | None:
        row = await fetch_one(
            self._db, "SELECT user_id FROM payments WHERE charge_id = ?", (charge_id,)
        )
        return int(row["user_id"]) if row else None


def _payment(row: aiosqlite.Row) -> Payment:
    return Payment(
        row["charge_id"],
        row["user_id"],
        row["images"],
        row["stars"],
        row["status"],
        row["created_at"],
        row["provider_charge_id"],
        row["clawed_back"],
    )

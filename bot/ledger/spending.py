"""What requests may spend, reserved in one statement: the user's free units, credits bought
with Stars, the group's daily images and the bot's daily budget.

`reserve` is a single `INSERT … SELECT … WHERE`, one trip to the database: the limits it
reads (the user's and the group's own, where an admin set one), the sums it checks and the
row it adds are one atomic step however many coroutines reserve at once, so no two requests
can both take the last unit, credit, group image or budget micro. A user whose limit is 0 is
switched off: nothing is reserved, not even against credits; a group's 0 leaves credits
through. A reserved row holds what it took (`units` or `credits`, `group_images`,
`price_micros`) until `RequestLog.settle` frees it (anything but `ok`) or keeps it.

A credit balance is never stored, only derived: the images of a user's payments, less what
refunds took back, less the credits their `ok` and `reserved` requests hold.
"""

from __future__ import annotations

import aiosqlite

from bot.domain import NewRequest, Status
from bot.ledger.requests import COUNTED, row_values
from bot.ledger.rows import fetch_one, fetch_sums
from bot.money import Charge, DayUse, Spent

_COUNTED = f"status IN ('{COUNTED[0]}', '{COUNTED[1]}')"
USER_UNITS = (
    "SELECT COALESCE(SUM(units), 0) FROM requests "
    f"WHERE user_id = :user AND quota_day = :day AND {_COUNTED}"
)
GROUP_IMAGES = (
    "SELECT COALESCE(SUM(group_images), 0) FROM requests "
    f"WHERE chat_id = :chat AND quota_day = :day AND {_COUNTED}"
)
DAY_SPEND = (
    f"SELECT COALESCE(SUM(price_micros), 0) FROM requests WHERE quota_day = :day AND {_COUNTED}"
)
BALANCE = (
    "(SELECT COALESCE(SUM(images - clawed_back), 0) FROM payments WHERE user_id = :user)"
    " - (SELECT COALESCE(SUM(credits), 0) FROM requests"
    f" WHERE user_id = :user AND {_COUNTED})"
)
#: The user's and the group's limits today (NULL: none): their own if an admin set one,
#: else the defaults `:limit` and `:group_limit` (the group's only `:in_group`).
LIMITS = """
SELECT
    CASE WHEN u.quota_unlimited THEN NULL ELSE COALESCE(u.quota_limit, :limit) END AS user_limit,
    CASE WHEN NOT :in_group OR c.quota_unlimited THEN NULL
        ELSE COALESCE(c.quota_limit, :group_limit) END AS group_limit
FROM (SELECT 1) LEFT JOIN users AS u ON u.user_id = :user LEFT JOIN chats AS c ON c.chat_id = :chat
"""
# `fits` is computed once (MATERIALIZED), and each sum only where it decides something: in
# a SELECT list SQLite evaluates both sides of OR and AND, in CASE and WHERE it stops early.
_RESERVE = f"""
WITH limits AS ({LIMITS}), fits AS MATERIALIZED (
    SELECT
        user_limit IS NULL OR user_limit > 0 AS open,
        CASE
            WHEN user_limit IS NOT NULL AND ({USER_UNITS}) + :units > user_limit THEN 0
            WHEN group_limit IS NOT NULL AND ({GROUP_IMAGES}) + 1 > group_limit THEN 0
            ELSE 1
        END AS free,
        CASE WHEN :budget IS NULL THEN 1 ELSE ({DAY_SPEND}) + :price <= :budget END AS affordable
    FROM limits
)
INSERT INTO requests ({{columns}}, units, credits, group_images, price_micros)
SELECT {{values}},
    CASE WHEN free THEN :units ELSE 0 END,
    CASE WHEN free THEN 0 ELSE :units END,
    CASE WHEN free AND :in_group THEN 1 ELSE 0 END,
    :price
FROM fits WHERE open AND affordable AND (free OR ({BALANCE}) >= :units)
RETURNING id, credits
"""


class Spending:
    """Reservations against every limit, and the figures behind a refusal."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def reserve(self, request: NewRequest, charge: Charge, *, in_group: bool) -> Spent | None:
        """Insert a `reserved` row if the request fits today (see the module docstring);
        how it is paid, or None if it does not fit."""
        values = row_values(request, Status.RESERVED)
        sql = _RESERVE.format(
            columns=", ".join(values), values=", ".join(f":v_{name}" for name in values)
        )
        params = {f"v_{name}": value for name, value in values.items()}
        params |= {
            "user": request.user_id,
            "chat": request.chat_id,
            "day": request.quota_day,
            "units": charge.units,
            "limit": charge.limit,
            "group_limit": charge.group_limit,
            "budget": charge.budget,
            "price": charge.price,
            "in_group": int(in_group),
        }
        row = await fetch_one(self._db, sql, params)
        return None if row is None else Spent(int(row["id"]), int(row["credits"]))

    async def day_use(self, user_id: int, chat_id: int, day: str) -> DayUse:
        """The user's units, the chat's images, the bot's spend (micros) on `day`, and the
        user's credit balance."""
        params = {"user": user_id, "chat": chat_id, "day": day}
        row = await fetch_sums(
            self._db,
            f"SELECT ({USER_UNITS}) AS units, ({GROUP_IMAGES}) AS group_images,"
            f" ({DAY_SPEND}) AS spent, ({BALANCE}) AS credits",
            params,
        )
        return DayUse(row["units"], row["group_images"], row["spent"], row["credits"])

    async def used_units(self, user_id: int, day: str) -> int:
        """Units counted against the user on `day` (successes and reservations)."""
        params = {"user": user_id, "day": day}
        row = await fetch_sums(self._db, f"SELECT ({USER_UNITS}) AS units", params)
        return int(row["units"])

    async def day_spend(self, day: str) -> int:
        """What the bot spent (and holds reserved) on `day`, in micros."""
        row = await fetch_sums(self._db, f"SELECT ({DAY_SPEND}) AS spent", {"day": day})
        return int(row["spent"])

    async def balance(self, user_id: int) -> int:
        """The user's credits now (reserved ones excluded)."""
        row = await fetch_sums(self._db, f"SELECT {BALANCE} AS credits", {"user": user_id})
        return int(row["credits"])

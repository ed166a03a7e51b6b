"""What a request may take, reserved in one statement, and why one did not fit.

The user's free units first, then credits bought with Stars; the group's daily images
(`GROUP_DAILY_QUOTA`, or the group's own limit set with `/setquota <chat_id>`), which credits
pass; the bot's `DAILY_BUDGET`, which nothing passes. The reservation itself is
`bot.ledger.spending`'s single statement; the reason for a refusal is read afterwards,
only to explain it.
"""

from __future__ import annotations

from bot.config import Settings
from bot.core.alerts import Alerts
from bot.core.quota import QuotaPolicy
from bot.domain import ImageJob, NewRequest, Status
from bot.errors import BudgetExhausted, GroupQuotaExceeded, QuotaExceeded
from bot.ledger import Ledger
from bot.money import Charge, to_micros


class Charges:
    """Reserves what jobs take, and records the ones that do not fit."""

    def __init__(
        self, settings: Settings, ledger: Ledger, quota: QuotaPolicy, alerts: Alerts
    ) -> None:
        self._settings = settings
        self._ledger = ledger
        self._quota = quota
        self._alerts = alerts

    async def reserve(self, record: NewRequest, job: ImageJob) -> int:
        """The id of the reserved row; raises (a row `over_quota` recorded) if it does not fit."""
        self._alerts.day_is(record.quota_day)
        charge = await self._charge(job)
        spent = None
        if charge.limit != 0:
            spent = await self._ledger.spending.reserve(
                record, charge, in_group=not job.requester.private
            )
        if spent is not None:
            return spent.request_id
        refusal = await self._refusal(record, charge)
        refusal.request_id = await self._ledger.requests.record(
            record, Status.OVER_QUOTA, type(refusal).__name__
        )
        raise refusal

    async def _charge(self, job: ImageJob) -> Charge:
        """What `job` takes, and the limits that apply to it today."""
        who = job.requester
        group_limit: int | None = None
        if not who.private:
            default = self._settings.group_daily_quota or None
            group_limit = await self._ledger.chats.limit(who.chat_id, default)
        budget = to_micros(self._settings.daily_budget)
        price = self._settings.image_price_hd if job.hd else self._settings.image_price
        return Charge(
            units=self._quota.units(job.hd),
            limit=self._quota.limit_for(await self._ledger.users.get(who.user_id)),
            group_limit=group_limit,
            budget=budget or None,
            price=to_micros(price),
        )

    async def _refusal(self, record: NewRequest, charge: Charge) -> QuotaExceeded:
        """Why a request did not fit (read after the fact, only to explain it)."""
        reset = self._quota.seconds_until_reset()
        if charge.limit == 0:
            return QuotaExceeded(0, reset)
        use = await self._ledger.spending.day_use(record.user_id, record.chat_id, record.quota_day)
        if charge.budget is not None and use.spent + charge.price > charge.budget:
            self._alerts.budget_reached(record.quota_day)
            return BudgetExhausted(reset)
        free = charge.limit is None or use.units + charge.units <= charge.limit
        if free and charge.group_limit is not None:
            return GroupQuotaExceeded(charge.group_limit, reset)
        return QuotaExceeded(charge.limit or 0, reset)

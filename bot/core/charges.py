"""What a request may take, reserved in one statement, and why one did not fit.

The user's free units first, then credits bought with Stars; the group's daily images
(`GROUP_DAILY_QUOTA`, or the group's own limit set with `/setquota <chat_id>`), which credits
pass; the bot's `DAILY_BUDGET`, which nothing passes. The reservation itself is
`bot.ledger.spending`'s single statement, which also reads the limits admins set: one trip
to the database. The reason for a refusal is read afterwards, only to explain it.
"""

from __future__ import annotations

from bot.config import Settings
from bot.core.alerts import Alerts
from bot.core.quota import QuotaPolicy
from bot.domain import ImageJob, NewRequest, Status, UserSettings
from bot.errors import BudgetExhausted, GroupQuotaExceeded, QuotaExceeded
from bot.ledger import Ledger
from bot.money import Charge, to_micros


class Charges:
    """Reserves what jobs take, and records the ones that do not fit."""

    def __init__(
        self, settings: Settings, ledger: Ledger, quota: QuotaPolicy, alerts: Alerts
    ) -> None:
        self._ledger = ledger
        self._quota = quota
        self._alerts = alerts
        self._charges = {hd: _charge(settings, quota, hd=hd) for hd in (False, True)}

    async def reserve(self, record: NewRequest, job: ImageJob) -> int:
        """The id of the reserved row; raises (a row `over_quota` recorded) if it does not fit."""
        self._alerts.day_is(record.quota_day)
        charge = self._charges[job.hd]
        in_group = not job.requester.private
        spent = await self._ledger.spending.reserve(record, charge, in_group=in_group)
        if spent is not None:
            return spent.request_id
        refusal = await self._refusal(record, charge, in_group=in_group)
        refusal.request_id = await self._ledger.requests.record(
            record, Status.OVER_QUOTA, type(refusal).__name__
        )
        raise refusal

    async def _refusal(
        self, record: NewRequest, charge: Charge, *, in_group: bool
    ) -> QuotaExceeded:
        """Why a request did not fit (read after the fact, only to explain it)."""
        reset = self._quota.seconds_until_reset()
        limit = self._quota.limit_for(await self._ledger.users.get(record.user_id))
        if limit == 0:
            return QuotaExceeded(0, reset)
        use = await self._ledger.spending.day_use(record.user_id, record.chat_id, record.quota_day)
        if charge.budget is not None and use.spent + charge.price > charge.budget:
            self._alerts.budget_reached(record.quota_day)
            return BudgetExhausted(reset)
        free = limit is None or use.units + charge.units <= limit
        if free and in_group:
            group_limit = await self._ledger.chats.limit(record.chat_id, charge.group_limit)
            if group_limit is not None:
                return GroupQuotaExceeded(group_limit, reset)
        return QuotaExceeded(limit or 0, reset)


def _charge(settings: Settings, quota: QuotaPolicy, *, hd: bool) -> Charge:
    """What a request takes, and the default limits (the ledger reads anyone's own)."""
    return Charge(
        units=quota.units(hd),
        limit=quota.limit_for(UserSettings()),
        group_limit=settings.group_daily_quota or None,
        budget=to_micros(settings.daily_budget) or None,
        price=to_micros(settings.image_price_hd if hd else settings.image_price),
    )

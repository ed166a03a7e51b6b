"""The quota rules: which day it is, what a request costs, and a user's limit."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import LedgerSettings
from bot.domain import UserSettings


class QuotaPolicy:
    """Daily units per user, reset at midnight in one time zone."""

    def __init__(
        self,
        *,
        daily_limit: int,
        hd_cost: int,
        timezone: ZoneInfo,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._daily_limit = daily_limit
        self._hd_cost = hd_cost
        self._tz = timezone
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: LedgerSettings) -> QuotaPolicy:
        """The policy `DAILY_QUOTA`, `HD_QUOTA_COST` and `QUOTA_TIMEZONE` describe."""
        return cls(
            daily_limit=settings.daily_quota,
            hd_cost=settings.hd_quota_cost,
            timezone=settings.timezone,
        )

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), self._tz)

    def day(self) -> str:
        """Today's date in the quota time zone, as the ledger stores it."""
        return self._now().date().isoformat()

    def local_time(self, stored: str) -> str:
        """A ledger timestamp (UTC, ISO) as `YYYY-MM-DD HH:MM` in the quota time zone."""
        return datetime.fromisoformat(stored).astimezone(self._tz).strftime("%Y-%m-%d %H:%M")

    def seconds_until_reset(self) -> int:
        """Seconds until the next midnight in the quota time zone."""
        now = self._now()
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), self._tz)
        return max(1, int(midnight.timestamp() - self._clock()))

    def units(self, hd: bool) -> int:
        """What one request costs."""
        return self._hd_cost if hd else 1

    def limit_for(self, settings: UserSettings) -> int | None:
        """The user's daily limit in units; None means unlimited."""
        if settings.unlimited:
            return None
        if settings.quota_limit is not None:
            return settings.quota_limit
        return self._daily_limit or None

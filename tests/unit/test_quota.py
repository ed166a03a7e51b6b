"""`bot.core.quota`: the day boundary follows QUOTA_TIMEZONE; limits and units."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.core.quota import QuotaPolicy
from bot.domain import UserSettings


class TestQuotaPolicy:
    """The day boundary follows QUOTA_TIMEZONE."""

    def test_day_and_reset_follow_the_time_zone(self) -> None:
        """23:30 UTC is already tomorrow in Shanghai, and the reset is at its midnight."""
        instant = datetime(2026, 11, 24, 23, 30, tzinfo=UTC).timestamp()
        utc = QuotaPolicy(
            daily_limit=20, hd_cost=2, timezone=ZoneInfo("UTC"), clock=lambda: instant
        )
        shanghai = QuotaPolicy(
            daily_limit=20, hd_cost=2, timezone=ZoneInfo("Asia/Shanghai"), clock=lambda: instant
        )
        assert utc.day() == "2026-11-24"
        assert utc.seconds_until_reset() == 30 * 60
        assert shanghai.day() == "2026-11-25"
        assert shanghai.seconds_until_reset() == 16 * 3600 + 30 * 60

    def test_limits_and_units(self) -> None:
        """DAILY_QUOTA=0 is unlimited; overrides win; HD costs HD_QUOTA_COST."""
        policy = QuotaPolicy(daily_limit=0, hd_cost=3, timezone=ZoneInfo("UTC"))
        assert policy.limit_for(UserSettings()) is None
        assert policy.limit_for(UserSettings(quota_limit=0)) == 0
        assert policy.limit_for(UserSettings(unlimited=True)) is None
        assert (
            QuotaPolicy(daily_limit=5, hd_cost=3, timezone=ZoneInfo("UTC")).limit_for(
                UserSettings()
            )
            == 5
        )
        assert (policy.units(False), policy.units(True)) == (1, 3)

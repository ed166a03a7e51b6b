"""Usage reports read from the ledger, shared by the chat commands and the CLI."""

from __future__ import annotations

from bot import texts
from bot.core.quota import QuotaPolicy
from bot.domain import TopUser, Totals
from bot.ledger import Ledger


class Reports:
    """The reports on one ledger, under one quota policy."""

    def __init__(self, ledger: Ledger, quota: QuotaPolicy) -> None:
        self._ledger = ledger
        self._quota = quota

    async def quota(self, user_id: int, lang: str) -> str:
        """What `/quota` answers (see `quota_report`)."""
        return await quota_report(self._ledger, self._quota, user_id, lang)

    async def usage(self, lang: str = "en") -> str:
        """What `/stats` answers (see `usage_report`)."""
        return await usage_report(self._ledger, self._quota, lang)


async def quota_report(ledger: Ledger, quota: QuotaPolicy, user_id: int, lang: str) -> str:
    """What `/quota` answers: today, all time, and the last few requests."""
    day = quota.day()
    used = await ledger.requests.used_units(user_id, day)
    limit = quota.limit_for(await ledger.users.get(user_id))
    lines = []
    if limit is None:
        lines.append(texts.tr(lang, "quota_today_unlimited", used=used))
    else:
        reset = texts.duration(lang, quota.seconds_until_reset())
        left = max(0, limit - used)
        lines.append(texts.tr(lang, "quota_today", used=used, limit=limit, left=left, reset=reset))
    if quota.units(hd=True) != 1:
        lines.append(texts.tr(lang, "quota_hd_cost", cost=quota.units(hd=True)))
    totals = await ledger.requests.totals(user_id=user_id)
    lines.append(
        texts.tr(lang, "quota_all_time", images=totals.images, cost=texts.money(totals.cost))
    )
    recent = await ledger.requests.recent(user_id, 5)
    lines.append("")
    lines.append(texts.tr(lang, "quota_recent") if recent else texts.tr(lang, "quota_none"))
    for row in recent:
        when = quota.local_time(row.created_at)
        status = texts.tr(lang, f"status_{row.status}")
        lines.append(f"• {when} · {row.kind} · {status}")
    return "\n".join(lines)


async def usage_report(ledger: Ledger, quota: QuotaPolicy, lang: str = "en") -> str:
    """What `/stats` and `python -m bot stats` print: totals and top users."""
    day = quota.day()
    today = await ledger.requests.totals(day=day)
    ever = await ledger.requests.totals()
    lines = [
        texts.tr(lang, "stats_today", day=day, **_figures(today)),
        texts.tr(lang, "stats_all_time", **_figures(ever)),
    ]
    for key, top in (
        ("stats_top_today", await ledger.requests.top_users(day=day)),
        ("stats_top_all_time", await ledger.requests.top_users()),
    ):
        if top:
            lines.append("")
            lines.append(texts.tr(lang, key))
            lines.extend(_top_line(lang, rank, user) for rank, user in enumerate(top, 1))
    return "\n".join(lines)


def _figures(totals: Totals) -> dict[str, object]:
    return {
        "requests": totals.requests,
        "images": totals.images,
        "failures": totals.failures,
        "cost": texts.money(totals.cost),
    }


def _top_line(lang: str, rank: int, user: TopUser) -> str:
    who = f"@{user.username} ({user.user_id})" if user.username else str(user.user_id)
    return texts.tr(
        lang, "stats_top_line", rank=rank, who=who, images=user.images, cost=texts.money(user.cost)
    )

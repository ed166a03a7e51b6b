"""Usage reports read from the ledger, shared by the chat commands and the CLI."""

from __future__ import annotations

from bot import texts
from bot.config import LedgerSettings
from bot.core.quota import QuotaPolicy
from bot.domain import Requester, TopUser, Totals
from bot.ledger import Ledger
from bot.money import from_micros


class Reports:
    """The reports on one ledger, under one quota policy."""

    def __init__(self, ledger: Ledger, quota: QuotaPolicy, settings: LedgerSettings) -> None:
        self._ledger = ledger
        self._quota = quota
        self._settings = settings

    async def quota(self, requester: Requester) -> str:
        """What `/quota` answers (see `quota_report`)."""
        return await quota_report(self._ledger, self._quota, self._settings, requester)

    async def usage(self, lang: str = "en") -> str:
        """What `/stats` answers (see `usage_report`)."""
        return await usage_report(self._ledger, self._quota, self._settings, lang)


async def quota_report(
    ledger: Ledger, quota: QuotaPolicy, settings: LedgerSettings, requester: Requester
) -> str:
    """What `/quota` answers: today (and the group's today), credits, all time, the last
    few requests."""
    lang, user_id, day = requester.language, requester.user_id, quota.day()
    use = await ledger.spending.day_use(user_id, requester.chat_id, day)
    limit = quota.limit_for(await ledger.users.get(user_id))
    lines = []
    if limit is None:
        lines.append(texts.tr(lang, "quota_today_unlimited", used=use.units))
    else:
        reset = texts.duration(lang, quota.seconds_until_reset())
        left = max(0, limit - use.units)
        lines.append(
            texts.tr(lang, "quota_today", used=use.units, limit=limit, left=left, reset=reset)
        )
    if quota.units(hd=True) != 1:
        lines.append(texts.tr(lang, "quota_hd_cost", cost=quota.units(hd=True)))
    if use.credits:
        lines.append(texts.tr(lang, "quota_credits", credits=use.credits))
    if not requester.private:
        lines.append(await _group_line(ledger, settings, requester.chat_id, use.group_images, lang))
    totals = await ledger.requests.totals(user_id=user_id)
    images = texts.images(lang, totals.images)
    lines.append(texts.tr(lang, "quota_all_time", images=images, cost=texts.money(totals.cost)))
    recent = await ledger.requests.recent(user_id, 5)
    lines.append("")
    lines.append(texts.tr(lang, "quota_recent") if recent else texts.tr(lang, "quota_none"))
    for row in recent:
        when = quota.local_time(row.created_at)
        kind = texts.tr(lang, f"kind_{row.kind}")
        lines.append(f"• {when} · {kind} · {texts.tr(lang, f'status_{row.status}')}")
    return "\n".join(lines)


async def _group_line(
    ledger: Ledger, settings: LedgerSettings, chat_id: int, used: int, lang: str
) -> str:
    limit = await ledger.chats.limit(chat_id, settings.group_daily_quota or None)
    if limit is None:
        return texts.tr(lang, "quota_group_unlimited", used=used)
    return texts.tr(lang, "quota_group", used=used, limit=limit)


async def usage_report(
    ledger: Ledger, quota: QuotaPolicy, settings: LedgerSettings, lang: str = "en"
) -> str:
    """What `/stats` and `python -m bot stats` print: totals, today's spend against the
    budget, and top users."""
    day = quota.day()
    today = await ledger.requests.totals(day=day)
    ever = await ledger.requests.totals()
    spent = texts.money(float(from_micros(await ledger.spending.day_spend(day))))
    budget = (
        texts.tr(lang, "stats_budget", spent=spent, budget=texts.money(settings.daily_budget))
        if settings.daily_budget
        else texts.tr(lang, "stats_spent", spent=spent)
    )
    lines = [
        texts.tr(lang, "stats_today", day=day, **_figures(today, lang)),
        budget,
        texts.tr(lang, "stats_all_time", **_figures(ever, lang)),
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


def _figures(totals: Totals, lang: str) -> dict[str, object]:
    return {
        "requests": texts.count(lang, totals.requests, "request"),
        "images": texts.images(lang, totals.images),
        "failures": totals.failures,
        "cost": texts.money(totals.cost),
    }


def _top_line(lang: str, rank: int, user: TopUser) -> str:
    who = f"@{user.username} ({user.user_id})" if user.username else str(user.user_id)
    return texts.tr(
        lang,
        "stats_top_line",
        rank=rank,
        who=who,
        images=texts.images(lang, user.images),
        cost=texts.money(user.cost),
    )

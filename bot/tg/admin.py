"""Admin commands (`ADMIN_USER_IDS` only): /stats, /setquota, /ban, /unban."""

from __future__ import annotations

import re

from telegram import Message, Update

from bot import reports, texts
from bot.errors import NotAdmin
from bot.tg.context import BotContext
from bot.tg.intake import requester_of
from bot.tg.replies import answer


async def _admin_message(update: Update, context: BotContext) -> tuple[Message, str]:
    """The command's message and the admin's language; `NotAdmin` for anyone else.

    Outsiders and banned users meet the usual refusal (silence in groups) first.
    """
    message = update.effective_message
    assert message is not None  # command handlers are filtered to new messages
    requester = requester_of(message)
    await context.deps.service.admit(requester)
    if not context.deps.access.is_admin(requester.user_id):
        raise NotAdmin(requester.user_id)
    return message, requester.language


#: Telegram ids fit in 52 bits; limits beyond a million a day mean "unlimited".
MAX_ID = 2**52
MAX_LIMIT = 1_000_000
#: A user id, or a negative chat id for channels posting in groups (they are charged too).
_ID = re.compile(r"-?[0-9]{1,16}")


def _user_id(args: list[str]) -> int | None:
    """The first argument as a Telegram user (or channel) id, or None."""
    if not args or not _ID.fullmatch(args[0]):
        return None
    user_id = int(args[0])
    return user_id if user_id and abs(user_id) < MAX_ID else None


async def show_stats(update: Update, context: BotContext) -> None:
    """Totals today and all time, and the top users (/stats)."""
    message, lang = await _admin_message(update, context)
    deps = context.deps
    await answer(message, await reports.usage_report(deps.ledger, deps.quota, lang))


async def set_quota(update: Update, context: BotContext) -> None:
    """Give one user their own daily limit: a number or `unlimited` (/setquota)."""
    message, lang = await _admin_message(update, context)
    args = context.args or []
    user_id = _user_id(args)
    raw = args[1].lower() if len(args) == 2 else ""
    in_range = re.fullmatch(r"[0-9]{1,7}", raw) is not None and int(raw) <= MAX_LIMIT
    if user_id is None or not (in_range or raw in ("unlimited", "∞")):
        await answer(message, texts.tr(lang, "usage_setquota"))
        return
    limit = int(raw) if in_range else None
    await context.deps.ledger.set_quota(user_id, limit)
    if limit is None:
        await answer(message, texts.tr(lang, "quota_set_unlimited", user=user_id))
    else:
        await answer(message, texts.tr(lang, "quota_set", user=user_id, limit=limit))


async def ban(update: Update, context: BotContext) -> None:
    """Ban a user (/ban)."""
    await _set_banned(update, context, banned=True)


async def unban(update: Update, context: BotContext) -> None:
    """Lift a ban (/unban)."""
    await _set_banned(update, context, banned=False)


async def _set_banned(update: Update, context: BotContext, *, banned: bool) -> None:
    message, lang = await _admin_message(update, context)
    args = context.args or []
    user_id = _user_id(args)
    if user_id is None or len(args) != 1:
        await answer(message, texts.tr(lang, "usage_ban" if banned else "usage_unban"))
        return
    await context.deps.ledger.set_banned(user_id, banned)
    await answer(message, texts.tr(lang, "banned" if banned else "unbanned", user=user_id))

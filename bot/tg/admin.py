"""Admin commands (`ADMIN_USER_IDS` only) and their routes: /stats, /setquota (a user's or,
with a negative id, a group's daily limit), /ban, /unban. (/refund lives with the Stars
routes in `bot.tg.stars`.)

Outsiders and banned users meet the usual refusal (silence in groups) first; other users
hear that the command is for admins.
"""

from __future__ import annotations

import re

from telegram import Message, Update
from telegram.ext import BaseHandler, CommandHandler

from bot import texts
from bot.tg.context import BotContext
from bot.tg.reading import NEW_MESSAGES, message_of, requester_of
from bot.tg.sending import answer

#: Telegram ids fit in 52 bits; limits beyond a million a day mean "unlimited".
MAX_ID = 2**52
MAX_LIMIT = 1_000_000
#: A user id, or a group's negative chat id (/setquota then sets the group's limit).
_ID = re.compile(r"-?[0-9]{1,16}")


def routes() -> list[BaseHandler[Update, BotContext, None]]:
    """The handlers of this module."""
    return [
        CommandHandler("stats", show_stats, filters=NEW_MESSAGES),
        CommandHandler("setquota", set_quota, filters=NEW_MESSAGES),
        CommandHandler("ban", ban, filters=NEW_MESSAGES),
        CommandHandler("unban", unban, filters=NEW_MESSAGES),
    ]


async def _admin_message(update: Update, context: BotContext) -> tuple[Message, str]:
    """The command's message and the admin's language, once the sender is an admin."""
    message = message_of(update)
    requester = requester_of(message)
    await context.deps.access.admit_admin(requester)
    return message, requester.language


def _user_id(args: list[str]) -> int | None:
    """The first argument as a Telegram user (or channel) id, or None."""
    if not args or not _ID.fullmatch(args[0]):
        return None
    user_id = int(args[0])
    return user_id if user_id and abs(user_id) < MAX_ID else None


async def show_stats(update: Update, context: BotContext) -> None:
    """Totals today and all time, and the top users (/stats)."""
    message, lang = await _admin_message(update, context)
    await answer(message, await context.deps.reports.usage(lang))


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
    if user_id < 0:  # a group's (negative) id: the group's own daily image limit
        await context.deps.access.set_chat_limit(user_id, limit)
        key = "chat_quota_set_unlimited" if limit is None else "chat_quota_set"
        await answer(message, texts.tr(lang, key, chat=user_id, limit=limit))
        return
    await context.deps.access.set_limit(user_id, limit)
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
    await context.deps.access.set_banned(user_id, banned)
    await answer(message, texts.tr(lang, "banned" if banned else "unbanned", user=user_id))

"""Thin handlers for everyone, and their routes: read the update, hand it to the core, answer.

    message ─ read_message() ─┬─ album part: collected; its opener waits for the rest
                              └─ intake.take() ─ notes said ─ results.run(job)
    button  ─ intake.rerun() ─ results.run(job)

Messages of one user in one chat are taken in their turn (`Intake.turn`), entered before
the handler's first await.
"""

from __future__ import annotations

import contextlib
import re

from telegram import CallbackQuery, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import texts
from bot.core.intake import Taken
from bot.domain import Asked, Owner
from bot.errors import BotError
from bot.tg.albums import combine
from bot.tg.context import BotContext
from bot.tg.error_handler import tell
from bot.tg.reading import (
    NEW_MESSAGES,
    destination_of,
    message_of,
    presser_of,
    read_message,
    requester_of,
)
from bot.tg.results import AGAIN, HD
from bot.tg.sending import answer, say
from bot.tg.stars import show_packs


def routes() -> list[BaseHandler[Update, BotContext, None]]:
    """The handlers of this module; the last one takes every message not taken before it."""
    return [
        CommandHandler(["start", "help"], show_help, filters=NEW_MESSAGES),
        CommandHandler("cancel", cancel, filters=NEW_MESSAGES),
        CommandHandler("quota", show_quota, filters=NEW_MESSAGES),
        CallbackQueryHandler(press_button),
        MessageHandler(filters.StatusUpdate.MIGRATE, follow_upgrade),
        MessageHandler(NEW_MESSAGES & ~filters.StatusUpdate.ALL, take),
    ]


async def show_help(update: Update, context: BotContext) -> None:
    """Explain what the bot does (/start, /help)."""
    message = message_of(update)
    requester = requester_of(message)
    await context.deps.access.admit(requester)
    if context.args == ["buy"] and requester.private and context.deps.shop.open:
        await show_packs(message, context.deps.shop, requester.language)  # t.me/bot?start=buy
        return
    text = texts.tr(requester.language, "help")
    if not requester.private:
        text += texts.tr(requester.language, "help_group", bot=context.bot.username)
    await answer(message, text)


async def cancel(update: Update, context: BotContext) -> None:
    """Drop the images waiting for an instruction (/cancel)."""
    message = message_of(update)
    requester = requester_of(message)
    owner = Owner.at(requester, destination_of(message))
    async with context.deps.intake.turn(owner):
        dropped = await context.deps.intake.cancel(owner, requester)
    key = "pending_cancelled" if dropped else "nothing_to_cancel"
    await answer(message, texts.tr(requester.language, key, count=dropped))


async def show_quota(update: Update, context: BotContext) -> None:
    """Today's use, the limit and its reset, all-time totals, the last requests (/quota)."""
    message = message_of(update)
    requester = requester_of(message)
    await context.deps.access.admit(requester)
    await answer(message, await context.deps.reports.quota(requester))


async def take(update: Update, context: BotContext) -> None:
    """Turn a message, or an album once complete, into an image request."""
    message = update.effective_message
    if message is None:
        return
    deps = context.deps
    asked = read_message(message, context.bot.bot)
    if message.media_group_id is None:
        async with deps.intake.turn(asked.owner):
            taken = await deps.intake.take(asked)
        await _carry_out(context, asked, taken)
        return
    album, opened = deps.albums.add(message.media_group_id, asked)
    if not opened:
        return
    try:
        async with deps.intake.turn(asked.owner):
            whole = await deps.albums.complete(album, deps.intake.admit, deps.images.prefetch)
            taken = await deps.intake.take(whole, admitted=True)
        await _carry_out(context, whole, taken)
    except BotError as error:  # answered like the result: to the part whose caption asked
        whole = combine(album.parts)
        await tell(context, whole.requester, whole.destination, error)


async def _carry_out(context: BotContext, asked: Asked, taken: Taken | None) -> None:
    if taken is None:
        return
    for note in taken.notes:
        text = texts.tr(asked.requester.language, note.key, **dict(note.values))
        await say(context.bot, asked.destination, text)
    if taken.job is not None:
        await context.deps.results.run(taken.job)


async def follow_upgrade(update: Update, context: BotContext) -> None:
    """A group became a supergroup: what goes to it, and its pending images, follow."""
    message = message_of(update)
    if message.migrate_to_chat_id is not None:
        await context.deps.moves.record(message.chat_id, message.migrate_to_chat_id)
    elif message.migrate_from_chat_id is not None:
        await context.deps.moves.record(message.migrate_from_chat_id, message.chat_id)


async def _acknowledge(query: CallbackQuery, text: str | None = None) -> None:
    """Stop the button's spinner (refused for old queries; a failure loses only the spinner)."""
    with contextlib.suppress(TelegramError):
        await query.answer(text)


async def press_button(update: Update, context: BotContext) -> None:
    """Run a result's request again ("Again") or with the HD model ("HD"), for the presser."""
    query = update.callback_query
    asker = presser_of(query) if query is not None and query.data is not None else None
    if query is None or asker is None:
        return
    action, _, raw_id = (query.data or "").partition(":")
    if action not in (AGAIN, HD) or not re.fullmatch(r"[0-9]{1,18}", raw_id):
        await _acknowledge(query)
        return
    requester, destination = asker
    job = await context.deps.intake.rerun(requester, destination, int(raw_id), hd=action == HD)
    await _acknowledge(query, texts.tr(requester.language, "button_working"))
    await context.deps.results.run(job)

"""Thin Telegram handlers: each reads the update and hands over to the right piece."""

from __future__ import annotations

import contextlib
import re

from telegram import CallbackQuery, Message, Update
from telegram.error import TelegramError

from bot import reports, texts
from bot.domain import ImageJob, Requester
from bot.errors import InputsGone
from bot.tg.addressing import is_private, read_instruction
from bot.tg.context import BotContext
from bot.tg.intake import requester_of, take_album_part, take_message, take_other_command
from bot.tg.jobs import AGAIN, HD, run_job
from bot.tg.replies import answer


async def _admitted(update: Update, context: BotContext) -> tuple[Message, Requester]:
    """A command's message and sender, once the sender may use the bot (else AccessDenied)."""
    message = update.effective_message
    assert message is not None  # command handlers are filtered to new messages
    requester = requester_of(message)
    await context.deps.service.admit(requester)
    return message, requester


async def show_help(update: Update, context: BotContext) -> None:
    """Explain what the bot does (/start, /help)."""
    message, requester = await _admitted(update, context)
    lang = requester.language
    text = texts.tr(lang, "help")
    if not is_private(message):
        text += texts.tr(lang, "help_group", bot=context.bot.username)
    await answer(message, text)


async def cancel(update: Update, context: BotContext) -> None:
    """Drop the images waiting for an instruction (/cancel)."""
    message, requester = await _admitted(update, context)
    dropped = await context.deps.ledger.drop_pending(requester.user_id, requester.chat_id)
    key = "pending_cancelled" if dropped else "nothing_to_cancel"
    await answer(message, texts.tr(requester.language, key, count=dropped))


async def show_quota(update: Update, context: BotContext) -> None:
    """Today's use, the limit and its reset, all-time totals, the last requests (/quota)."""
    message, requester = await _admitted(update, context)
    deps = context.deps
    report = await reports.quota_report(
        deps.ledger, deps.quota, requester.user_id, requester.language
    )
    await answer(message, report)


async def take(update: Update, context: BotContext) -> None:
    """Turn an addressed message into an image request; ignore everything else."""
    message = update.effective_message
    if message is None:
        return
    instruction = read_instruction(message, context.bot.bot)
    if message.media_group_id is not None:
        await take_album_part(context, update, message, instruction)
        return
    if not instruction.addressed:
        return
    if not instruction.wants_image:
        await take_other_command(context, message)
        return
    await take_message(context, message, instruction)


async def _acknowledge(query: CallbackQuery, text: str | None = None) -> None:
    """Stop the button's spinner (refused for old queries; a failure loses only the spinner)."""
    with contextlib.suppress(TelegramError):
        await query.answer(text)


async def press_button(update: Update, context: BotContext) -> None:
    """Run a result's request again ("Again") or with the HD model ("HD"), for the presser."""
    query = update.callback_query
    if query is None or query.data is None or query.message is None:
        return
    action, _, raw_id = query.data.partition(":")
    if action not in (AGAIN, HD) or not re.fullmatch(r"[0-9]{1,18}", raw_id):
        await _acknowledge(query)
        return
    user = query.from_user
    lang = texts.language(user.language_code)
    chat = query.message.chat
    requester = Requester(user.id, chat.id, chat.type, user.username, lang)
    await context.deps.service.admit(requester)
    stored = await context.deps.ledger.request(int(raw_id))
    if stored is None or stored.chat_id != chat.id:  # a result's buttons work in its own chat
        raise InputsGone(raw_id)
    await _acknowledge(query, texts.tr(lang, "button_working"))
    job = ImageJob(
        requester,
        stored.prompt,
        stored.inputs,
        hd=action == HD or stored.hd,
        aspect_ratio=stored.aspect_ratio,
        reply_to=query.message.message_id if isinstance(query.message, Message) else None,
    )
    await run_job(context, job)

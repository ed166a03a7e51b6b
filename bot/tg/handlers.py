"""Thin Telegram handlers: each reads the update and hands over to the right piece."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.tg.addressing import is_private, read_instruction
from bot.tg.context import BotContext
from bot.tg.intake import requester_of, take_message


async def show_help(update: Update, context: BotContext) -> None:
    """Explain what the bot does (/start, /help)."""
    message = update.effective_message
    if message is None:
        return
    lang = requester_of(message).language
    text = texts.tr(lang, "help")
    if not is_private(message):
        text += texts.tr(lang, "help_group", bot=context.bot.username)
    await message.reply_text(text)


async def take(update: Update, context: BotContext) -> None:
    """Turn an addressed message into an image request; ignore everything else."""
    message = update.effective_message
    if message is None:
        return
    instruction = read_instruction(message, context.bot.bot)
    if not instruction.addressed:
        return
    if not instruction.wants_image:
        if is_private(message):
            await message.reply_text(texts.tr(requester_of(message).language, "unknown_command"))
        return
    await take_message(context, message, instruction)

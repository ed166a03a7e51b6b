"""The CLI's own calls to Telegram: who a token belongs to (`python -m bot check`), and the
bot's Star payments (`python -m bot payments --reconcile`)."""

from __future__ import annotations

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.config import Settings
from bot.core.shop import Paid
from bot.errors import ConfigError
from bot.tg import stars
from bot.tg.application import api_urls


async def whose_token(settings: Settings) -> str:
    """`@username (id)` of the bot the token belongs to.

    Raises `ConfigError` if Telegram rejects the token, `ConnectionError` if Telegram
    cannot be reached or refuses otherwise.
    """
    try:
        return await _get_me(settings)
    except InvalidToken:
        raise ConfigError("Telegram rejected TELEGRAM_BOT_TOKEN") from None
    except TelegramError as exc:
        raise ConnectionError(str(exc)) from None


async def star_payments(settings: Settings) -> list[Paid]:
    """Every user payment Telegram has on record for the bot."""
    async with _bot(settings) as bot:
        return await stars.star_payments(bot)


def _bot(settings: Settings) -> Bot:
    return Bot(settings.telegram_bot_token.get_secret_value(), **api_urls(settings))


async def _get_me(settings: Settings) -> str:
    async with _bot(settings) as bot:
        me = bot.bot
    return f"@{me.username} (id {me.id})"

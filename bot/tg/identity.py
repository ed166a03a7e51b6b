"""Who a token belongs to: one `getMe`, for `python -m bot check`."""

from __future__ import annotations

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.config import Settings
from bot.errors import ConfigError


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


async def _get_me(settings: Settings) -> str:
    root = settings.telegram_root
    bot = Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
    )
    async with bot:
        me = bot.bot
    return f"@{me.username} (id {me.id})"

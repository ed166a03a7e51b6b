"""The command menu: everyone's commands, plus the admin ones in admins' own chats."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot import texts

log = logging.getLogger(__name__)

PUBLIC = ("draw", "hd", "quota", "cancel", "help")
#: Shown when the bot sells images for Stars.
SHOP = ("buy", "paysupport")
ADMIN = ("stats", "setquota", "ban", "unban")
SHOP_ADMIN = ("refund",)
MENU_LANGUAGES = ("en", "zh")


def menu(lang: str, names: Iterable[str]) -> list[BotCommand]:
    """The commands `names` described in `lang`."""
    return [BotCommand(name, texts.tr(lang, f"cmd_{name}")) for name in names]


async def register_commands(bot: Bot, admin_ids: Iterable[int], *, shop: bool = False) -> None:
    """Publish the menu; an admin who never opened a chat with the bot is skipped."""
    public = PUBLIC + SHOP if shop else PUBLIC
    admin_only = ADMIN + SHOP_ADMIN if shop else ADMIN
    for lang in MENU_LANGUAGES:
        code = None if lang == "en" else lang
        await bot.set_my_commands(
            menu(lang, public), scope=BotCommandScopeDefault(), language_code=code
        )
        for admin in admin_ids:
            try:
                await bot.set_my_commands(
                    menu(lang, public + admin_only),
                    scope=BotCommandScopeChat(admin),
                    language_code=code,
                )
            except TelegramError as exc:
                log.warning("admin menu for %d not set: %s", admin, exc)

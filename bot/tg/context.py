"""The typed `CallbackContext` every handler receives, and what it gives access to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.core.access import Access
from bot.core.alerts import AdminNotifier
from bot.core.intake import Intake
from bot.core.moves import ChatMoves
from bot.core.reports import Reports
from bot.core.shop import Shop
from bot.tg.albums import AlbumCollector
from bot.tg.files import TelegramImages
from bot.tg.results import Results

_DEPS = "deps"


@dataclass(frozen=True, slots=True)
class Deps:
    """Everything the Telegram handlers use, wired once in `bot.app`."""

    access: Access
    intake: Intake
    reports: Reports
    results: Results
    albums: AlbumCollector
    images: TelegramImages
    moves: ChatMoves
    shop: Shop
    admins: AdminNotifier


class BotContext(CallbackContext[ExtBot[int], dict[Any, Any], dict[Any, Any], dict[str, Any]]):
    """A `CallbackContext` with typed access to the bot's dependencies."""

    @property
    def deps(self) -> Deps:
        """The wired dependencies."""
        deps = self.bot_data[_DEPS]
        assert isinstance(deps, Deps)
        return deps


CONTEXT_TYPES = ContextTypes(context=BotContext)


def install(bot_data: dict[str, Any], deps: Deps) -> None:
    """Make `deps` available to every handler."""
    bot_data[_DEPS] = deps

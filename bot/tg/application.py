"""The PTB application: the bot pointed at `TELEGRAM_API_URL`, its HTTP requests, its routes.

Sending and polling each get their own `AiohttpRequest` (`bot.tg.requests`): sending many
at once (results, notices, chat actions), polling one long poll.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from telegram.ext import Application

from bot.config import Settings
from bot.core.moves import ChatMoves
from bot.tg import admin, handlers, stars
from bot.tg.context import CONTEXT_TYPES, BotContext
from bot.tg.error_handler import report_error
from bot.tg.gate import SendControl
from bot.tg.requests import AiohttpRequest
from bot.tg.updates import UpdateSafeBot

#: Updates handled at once; jobs wait for gateway slots, not for update slots.
CONCURRENT_UPDATES = 4096
TELEGRAM_CONNECTIONS = 256
#: A 50 MB document on a slow uplink.
UPLOAD_TIMEOUT = 300.0

#: The application's type, with the bot's context and no job queue.
App = Application[UpdateSafeBot, BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]


class ApiUrls(TypedDict):
    """Where a PTB bot sends methods and fetches files."""

    base_url: str
    base_file_url: str


def api_urls(settings: Settings) -> ApiUrls:
    """`base_url` and `base_file_url` of a PTB bot for `TELEGRAM_API_URL`."""
    root = settings.telegram_root
    return {"base_url": f"{root}/bot", "base_file_url": f"{root}/file/bot"}


def telegram_requests(root: str) -> tuple[AiohttpRequest, AiohttpRequest]:
    """The requests for sending and for polling, which the caller shuts down."""
    sending = AiohttpRequest(
        root,
        connections=TELEGRAM_CONNECTIONS,
        read_timeout=60.0,
        write_timeout=30.0,
        connect_timeout=10.0,
        pool_timeout=30.0,
        media_write_timeout=UPLOAD_TIMEOUT,
    )
    polling = AiohttpRequest(root, connections=1, read_timeout=10.0, connect_timeout=10.0)
    return sending, polling


def build_application(
    settings: Settings,
    requests: tuple[AiohttpRequest, AiohttpRequest],
    on_invalid_token: Callable[[], None],
    moves: ChatMoves,
) -> App:
    """The application with every route; `on_invalid_token` if Telegram drops the token;
    sends follow `moves` (groups that became supergroups)."""
    bot = UpdateSafeBot(
        settings.telegram_bot_token.get_secret_value(),
        **api_urls(settings),
        local_mode=settings.telegram_local_mode,
        request=requests[0],
        get_updates_request=requests[1],
        rate_limiter=SendControl(moves),
        on_invalid_token=on_invalid_token,
    )
    application = (
        Application.builder()
        .bot(bot)
        .concurrent_updates(CONCURRENT_UPDATES)
        .context_types(CONTEXT_TYPES)
        .build()
    )
    application.add_handlers(admin.routes())
    application.add_handlers(stars.routes())
    application.add_handlers(handlers.routes())  # last: it ends with the catch-all route
    application.add_error_handler(report_error)
    return application

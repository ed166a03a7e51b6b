"""The composition root: builds every piece, wires them, and runs the bot until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot import http
from bot.access import AccessPolicy
from bot.config import Settings
from bot.gateway.client import GatewayClient
from bot.imaging import ImageWorker
from bot.ledger.store import Interrupted, Ledger
from bot.lifecycle import JobTracker
from bot.quota import QuotaPolicy
from bot.service import MAX_IN_FLIGHT_PER_USER, ImageService
from bot.slots import GatewaySlots, InFlight
from bot.tg import admin, handlers
from bot.tg.albums import AlbumCollector
from bot.tg.commands import register_commands
from bot.tg.context import CONTEXT_TYPES, Deps, install
from bot.tg.delivery import Delivery
from bot.tg.error_handler import report_error
from bot.tg.flood import PerChatFloodControl
from bot.tg.inputs import DOWNLOAD_LIMIT, LOCAL_MODE_LIMIT, TelegramImages
from bot.tg.jobs import tell_interrupted
from bot.tg.updates import UpdateSafeBot

log = logging.getLogger(__name__)

#: Updates handled at once; jobs wait for gateway slots, not for update slots.
CONCURRENT_UPDATES = 4096
TELEGRAM_CONNECTIONS = 256
#: A 50 MB document on a slow uplink.
UPLOAD_TIMEOUT = 300.0
POLL_TIMEOUT = 30


@dataclass
class Runtime:
    """The running bot's parts that need closing."""

    settings: Settings
    application: Application  # type: ignore[type-arg]
    ledger: Ledger
    tracker: JobTracker
    gateway_http: httpx.AsyncClient
    telegram_requests: tuple[HTTPXRequest, HTTPXRequest]
    worker: ImageWorker
    #: Requests an earlier run left unfinished, whose users are told at start-up.
    interrupted: list[Interrupted]


def sending_request(root: str, *, aiohttp: bool = True) -> HTTPXRequest:
    """Requests for sending: many at once, over aiohttp's pool (see `bot.http`).

    `aiohttp=False` gives plain httpx, for the benchmark that justifies the choice.
    """
    transport = http.transport(TELEGRAM_CONNECTIONS, root) if aiohttp else None
    return HTTPXRequest(
        connection_pool_size=TELEGRAM_CONNECTIONS,
        read_timeout=60.0,
        write_timeout=30.0,
        connect_timeout=10.0,
        pool_timeout=30.0,
        media_write_timeout=UPLOAD_TIMEOUT,
        httpx_kwargs={"transport": transport} if transport else None,
    )


def telegram_requests(settings: Settings) -> tuple[HTTPXRequest, HTTPXRequest]:
    """The HTTP clients for sending and for polling, which `running` closes."""
    return sending_request(settings.telegram_root), _polling_request(settings.telegram_root)


def _polling_request(root: str) -> HTTPXRequest:
    """The one long-poll connection, over the same transport as sending (see `bot.http`).

    A dropped connection must reach PTB's Updater as a network error, which it retries
    with a growing pause, not as a timeout, which it retries at once: `http.Transport`
    sees to that.
    """
    return HTTPXRequest(
        connection_pool_size=1,
        read_timeout=10.0,
        connect_timeout=10.0,
        httpx_kwargs={"transport": http.transport(1, root)},
    )


def build_application(
    settings: Settings,
    requests: tuple[HTTPXRequest, HTTPXRequest],
    on_invalid_token: Callable[[], None] = lambda: None,
) -> Application:  # type: ignore[type-arg]
    """The PTB application, pointed at `TELEGRAM_API_URL`, without handlers.

    `requests` are for sending and for polling (see `telegram_requests`).
    """
    root = settings.telegram_root
    bot = UpdateSafeBot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        local_mode=settings.telegram_local_mode,
        request=requests[0],
        get_updates_request=requests[1],
        rate_limiter=PerChatFloodControl(),
        on_invalid_token=on_invalid_token,
    )
    return (
        Application.builder()
        .bot(bot)
        .concurrent_updates(CONCURRENT_UPDATES)
        .context_types(CONTEXT_TYPES)
        .build()
    )


def add_handlers(application: Application) -> None:  # type: ignore[type-arg]
    """Route updates to the handlers."""
    new_messages = filters.UpdateType.MESSAGE
    application.add_handler(
        CommandHandler(["start", "help"], handlers.show_help, filters=new_messages)
    )
    application.add_handler(CommandHandler("cancel", handlers.cancel, filters=new_messages))
    application.add_handler(CommandHandler("quota", handlers.show_quota, filters=new_messages))
    application.add_handler(CommandHandler("stats", admin.show_stats, filters=new_messages))
    application.add_handler(CommandHandler("setquota", admin.set_quota, filters=new_messages))
    application.add_handler(CommandHandler("ban", admin.ban, filters=new_messages))
    application.add_handler(CommandHandler("unban", admin.unban, filters=new_messages))
    application.add_handler(CallbackQueryHandler(handlers.press_button))
    application.add_handler(MessageHandler(new_messages & ~filters.StatusUpdate.ALL, handlers.take))
    application.add_error_handler(report_error)


async def build(settings: Settings, on_invalid_token: Callable[[], None] = lambda: None) -> Runtime:
    """Open the ledger and wire every piece."""
    ledger = await Ledger.open(settings.database_path)
    interrupted = await ledger.release_interrupted()
    if interrupted:
        log.warning("released %d reservation(s) left by an earlier run", len(interrupted))
    worker = ImageWorker()
    gateway_http = http.client(
        settings.max_concurrent_requests + 16, str(settings.image_api_base_url)
    )
    requests = telegram_requests(settings)
    application = build_application(settings, requests, on_invalid_token)
    gateway = GatewayClient(
        gateway_http,
        worker,
        base_url=str(settings.image_api_base_url),
        api_key=settings.image_api_key.get_secret_value(),
        group=settings.image_api_group,
        timeout=settings.request_timeout,
    )
    quota = QuotaPolicy.from_settings(settings)
    access = AccessPolicy(settings, ledger)
    limit = LOCAL_MODE_LIMIT if settings.telegram_local_mode else DOWNLOAD_LIMIT
    images = TelegramImages(application.bot, worker, limit=limit)
    tracker = JobTracker()
    service = ImageService(
        settings=settings,
        gateway=gateway,
        ledger=ledger,
        loader=images,
        quota=quota,
        access=access,
        slots=GatewaySlots(settings.max_concurrent_requests),
        in_flight=InFlight(MAX_IN_FLIGHT_PER_USER),
    )
    install(
        application.bot_data,
        Deps(
            settings=settings,
            service=service,
            ledger=ledger,
            access=access,
            quota=quota,
            images=images,
            delivery=Delivery(worker),
            tracker=tracker,
            albums=AlbumCollector(),
        ),
    )
    add_handlers(application)
    return Runtime(
        settings, application, ledger, tracker, gateway_http, requests, worker, interrupted
    )


@contextlib.asynccontextmanager
async def running(
    settings: Settings, on_invalid_token: Callable[[], None] = lambda: None
) -> AsyncIterator[Runtime]:
    """The bot receiving updates for the duration of the block; a graceful stop after.

    `on_invalid_token` is called if Telegram rejects the token while the bot runs.
    """
    runtime = await build(settings, on_invalid_token)
    application = runtime.application
    try:
        async with application:
            try:
                await register_commands(application.bot, settings.admin_user_ids)
                await application.start()
                await receive_updates(application, settings)
                if runtime.interrupted:
                    application.create_task(tell_interrupted(application.bot, runtime.interrupted))
                yield runtime
            finally:
                await _stop(runtime)
    finally:
        await runtime.ledger.close()
        await runtime.gateway_http.aclose()
        for request in runtime.telegram_requests:  # PTB skips this if start-up failed
            await request.shutdown()
        runtime.worker.close()


async def _stop(runtime: Runtime) -> None:
    """Stop taking updates; what is in hand gets the grace period to finish, then is cut off.

    PTB's `stop()` waits for every update already taken, whether or not it has reached a job
    yet: an album still being collected is merged once its quiet time has passed.
    """
    application = runtime.application
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if not application.running:
        return
    stopping = asyncio.ensure_future(application.stop())
    done, _ = await asyncio.wait({stopping}, timeout=runtime.settings.shutdown_grace)
    if not done:
        log.warning("%d request(s) did not finish in time", runtime.tracker.cancel())
    await stopping


async def receive_updates(application: Application, settings: Settings) -> None:  # type: ignore[type-arg]
    """Start the webhook server when `WEBHOOK_URL` is set, long polling otherwise."""
    updater = application.updater
    assert updater is not None
    allowed = [Update.MESSAGE, Update.CALLBACK_QUERY]
    if settings.webhook_url is None:
        await updater.start_polling(
            poll_interval=0.0, timeout=POLL_TIMEOUT, allowed_updates=allowed
        )
        log.info("bot @%s is running (long polling)", application.bot.username)
        return
    # Without a configured secret, a random one still lets only Telegram in.
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    await updater.start_webhook(
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        url_path=(settings.webhook_url.path or "").lstrip("/"),
        webhook_url=str(settings.webhook_url),
        secret_token=secret or secrets.token_urlsafe(32),
        allowed_updates=allowed,
    )
    log.info(
        "bot @%s is running (webhook on %s:%d)",
        application.bot.username,
        settings.webhook_listen,
        settings.webhook_port,
    )


async def serve(settings: Settings) -> int:
    """Run until SIGINT or SIGTERM (exit status 0), or until the token is revoked (2)."""
    stop = asyncio.Event()
    revoked = False

    def token_revoked() -> None:
        nonlocal revoked
        revoked = True
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(settings, token_revoked):
        await stop.wait()
        log.info("stopping: letting requests in flight finish")
    log.info("stopped")
    return 2 if revoked else 0

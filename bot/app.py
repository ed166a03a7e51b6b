"""The composition root: every part built and wired once, every resource in one exit stack.

    running(settings)       the bot receiving updates for the duration of the block
    serve(settings)         `python -m bot`: running until SIGINT/SIGTERM

Resources close in the reverse order they were opened: first receiving stops (requests in
flight get their grace period), then PTB shuts down, then the HTTP clients, the image
worker and the ledger close.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from bot import http_clients
from bot.config import Settings
from bot.core.access import Access
from bot.core.alerts import Alerts
from bot.core.intake import Intake
from bot.core.moves import ChatMoves
from bot.core.pending import PendingImages
from bot.core.queueing import GatewaySlots, InFlight
from bot.core.quota import QuotaPolicy
from bot.core.reports import Reports
from bot.core.running import JobTracker
from bot.core.service import MAX_IN_FLIGHT_PER_USER, ImageService
from bot.core.shop import Shop
from bot.gateway.client import GatewayClient
from bot.imaging import ImageWorker
from bot.ledger import Ledger, open_ledger
from bot.tg.albums import AlbumCollector
from bot.tg.alerting import AdminMessages
from bot.tg.application import App, build_application, telegram_requests
from bot.tg.context import Deps, install
from bot.tg.files import DOWNLOAD_LIMIT, LOCAL_MODE_LIMIT, TelegramImages
from bot.tg.menu import register_commands
from bot.tg.receiving import Receiving
from bot.tg.results import Results
from bot.tg.stars import reconcile_payments
from bot.tg.startup import until_reachable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Runtime:
    """The running bot's parts that tests and the entry point look at."""

    settings: Settings
    application: App
    ledger: Ledger
    tracker: JobTracker


@contextlib.asynccontextmanager
async def running(
    settings: Settings, on_invalid_token: Callable[[], None] = lambda: None
) -> AsyncIterator[Runtime]:
    """The bot receiving updates for the duration of the block; a graceful stop after.

    `on_invalid_token` is called if Telegram rejects the token while the bot runs.
    """
    async with contextlib.AsyncExitStack() as stack:
        ledger = await stack.enter_async_context(open_ledger(settings.database_path))
        worker = ImageWorker()
        stack.callback(worker.close)
        gateway = GatewayClient(
            http_clients.transport(
                settings.max_concurrent_requests + 16, str(settings.image_api_base_url)
            ),
            worker,
            base_url=str(settings.image_api_base_url),
            api_key=settings.image_api_key.get_secret_value(),
            group=settings.image_api_group,
            timeout=settings.request_timeout,
        )
        stack.push_async_callback(gateway.aclose)
        requests = telegram_requests(settings.telegram_root)
        for request in requests:  # PTB skips their shutdown if start-up failed
            stack.push_async_callback(request.shutdown)
        moves = ChatMoves(ledger.moves, settings.allowed_chat_ids)
        await moves.load()
        application = build_application(settings, requests, on_invalid_token, moves)
        quota = QuotaPolicy.from_settings(settings)
        access = Access(settings, ledger.users, ledger.requests, quota, moves, ledger.chats)
        pending = PendingImages(ledger.pending)
        admins = AdminMessages(application.bot, settings.admin_user_ids, access)
        stack.push_async_callback(admins.aclose)
        shop = Shop(settings.stars_packs, ledger, access)
        limit = LOCAL_MODE_LIMIT if settings.telegram_local_mode else DOWNLOAD_LIMIT
        images = TelegramImages(application.bot, worker, limit=limit)
        service = ImageService(
            settings=settings,
            gateway=gateway,
            ledger=ledger,
            loader=images,
            quota=quota,
            pending=pending,
            slots=GatewaySlots(settings.max_concurrent_requests),
            in_flight=InFlight(MAX_IN_FLIGHT_PER_USER),
            alerts=Alerts(admins),
        )
        tracker = JobTracker()
        results = Results(application.bot, service, tracker, worker)
        intake = Intake(access, pending, ledger.requests, max_images=settings.max_input_images)
        reports = Reports(ledger, quota, settings)
        install(
            application.bot_data,
            Deps(access, intake, reports, results, AlbumCollector(), images, moves, shop, admins),
        )
        interrupted = await service.release_interrupted()
        await until_reachable("getMe", application.initialize)
        stack.push_async_callback(application.shutdown)
        await until_reachable(
            "the command menu",
            lambda: register_commands(application.bot, settings.admin_user_ids, shop=shop.open),
        )
        await application.start()
        receiving = Receiving(application, settings)
        stack.push_async_callback(receiving.stop, settings.shutdown_grace, tracker)
        await until_reachable("receiving updates", receiving.start)
        if interrupted:
            application.create_task(results.tell_interrupted(interrupted))
        application.create_task(reconcile_payments(application.bot, shop))
        yield Runtime(settings, application, ledger, tracker)


async def serve(settings: Settings) -> int:
    """Run until SIGINT or SIGTERM (exit status 0), or until the token is revoked (1).

    A signal while start-up still waits for Telegram ends the wait at once (status 0).
    """
    stop = asyncio.Event()
    revoked = started = signalled = False
    main = asyncio.current_task()
    assert main is not None

    def token_revoked() -> None:
        nonlocal revoked
        revoked = True
        stop.set()

    def on_signal() -> None:
        nonlocal signalled
        if started:
            stop.set()
        elif not signalled:  # a second signal while start-up unwinds changes nothing
            signalled = True
            main.cancel()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    # Every module is imported by now, and lives as long as the process: out of the
    # collector's sight, a full collection no longer walks it (it paused the loop 30 ms
    # every few hundred requests under the latency bench's load).
    gc.freeze()
    try:
        async with running(settings, token_revoked):
            started = True
            await stop.wait()
            log.info("stopping: letting requests in flight finish")
    except asyncio.CancelledError:
        if started or not signalled:
            raise
        main.uncancel()
        log.info("stopped during start-up")
        return 0
    log.info("stopped")
    return 1 if revoked else 0

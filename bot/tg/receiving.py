"""Receiving updates: long polling, or a webhook when `WEBHOOK_URL` is set; and stopping.

A stop takes no new updates, and gives everything already received (requests in flight, an
album still being collected) `SHUTDOWN_GRACE` seconds to finish; what is still running then
is cancelled, tells its user, and is recorded as failed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from telegram import Update
from telegram.ext import Application

from bot.config import Settings
from bot.core.running import JobTracker

log = logging.getLogger(__name__)

POLL_TIMEOUT = 30
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.PRE_CHECKOUT_QUERY]


async def start_receiving(application: Application, settings: Settings) -> None:  # type: ignore[type-arg]
    """Start the webhook server when `WEBHOOK_URL` is set, long polling otherwise."""
    updater = application.updater
    assert updater is not None
    if settings.webhook_url is None:
        await updater.start_polling(
            poll_interval=0.0, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
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
        allowed_updates=ALLOWED_UPDATES,
    )
    log.info(
        "bot @%s is running (webhook on %s:%d)",
        application.bot.username,
        settings.webhook_listen,
        settings.webhook_port,
    )


async def stop_receiving(application: Application, grace: float, tracker: JobTracker) -> None:  # type: ignore[type-arg]
    """Stop taking updates; what is in hand gets `grace` seconds to finish, then is cut off.

    PTB's `stop()` waits for every update already taken, whether or not it has reached a job
    yet: an album still being collected is merged once its quiet time has passed.
    """
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if not application.running:
        return
    stopping = asyncio.ensure_future(application.stop())
    done, _ = await asyncio.wait({stopping}, timeout=grace)
    if not done:
        log.warning("%d request(s) did not finish in time", tracker.cancel())
    await stopping

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

from bot.config import Settings
from bot.core.running import JobTracker
from bot.tg.application import App
from bot.tg.webhook import Webhook

log = logging.getLogger(__name__)

POLL_TIMEOUT = 30
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.PRE_CHECKOUT_QUERY]


class Receiving:
    """Long polling (PTB's Updater), or the bot's own webhook server (`bot.tg.webhook`)."""

    def __init__(self, application: App, settings: Settings) -> None:
        self._application = application
        self._webhook: Webhook | None = None
        self._how = "long polling"
        url = settings.webhook_url
        if url is not None:
            # Without a configured secret, a random one still lets only Telegram in.
            secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
            self._webhook = Webhook(
                application,
                url=str(url),
                path=url.path or "/",
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                secret=secret or secrets.token_urlsafe(32),
                allowed_updates=ALLOWED_UPDATES,
            )
            self._how = f"webhook on {settings.webhook_listen}:{settings.webhook_port}"

    async def start(self) -> None:
        """Start taking updates (again after a failure to reach Telegram)."""
        if self._webhook is not None:
            await self._webhook.start()
        else:
            updater = self._application.updater
            assert updater is not None
            await updater.start_polling(
                poll_interval=0.0, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
            )
        log.info("bot @%s is running (%s)", self._application.bot.username, self._how)

    async def stop(self, grace: float, tracker: JobTracker) -> None:
        """Stop taking updates; what is in hand gets `grace` seconds to finish, then is cut off.

        PTB's `stop()` waits for every update already taken, whether or not it has reached a
        job yet: an album still being collected is merged once its quiet time has passed.
        """
        if self._webhook is not None:
            await self._webhook.stop()
        updater = self._application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if not self._application.running:
            return
        stopping = asyncio.ensure_future(self._application.stop())
        done, _ = await asyncio.wait({stopping}, timeout=grace)
        if not done:
            log.warning("%d request(s) did not finish in time", tracker.cancel())
        await stopping

"""Updates: the queue, getUpdates long polling, and webhooks."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from telegram import Update

from tests.fakes.telegram.records import (
    POLL_CONFLICT,
    WEBHOOK_CONFLICT,
    ApiError,
    Call,
    Down,
    JsonDict,
)
from tests.fakes.telegram.world import World

#: What getUpdates hands out when allowed_updates was never given.
_OPT_IN = {"chat_member", "message_reaction", "message_reaction_count"}
DEFAULT_ALLOWED_UPDATES = frozenset(Update.ALL_TYPES) - _OPT_IN
_MESSAGES = ("message", "edited_message", "channel_post", "edited_channel_post")


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    semaphore: asyncio.Semaphore


def _kind(update: JsonDict) -> str:
    return next((key for key in update if key != "update_id"), "")


class Updates(World):
    """Pushed updates wait here until getUpdates confirms them or the webhook takes them.

    Simplified: webhook URLs may be plain http, and a failed delivery is recorded in
    `webhook_deliveries` but not retried (the update is dropped).
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.webhook_deliveries: list[int] = []
        self._pending: list[JsonDict] = []
        self._next_update_id = 1
        self._poll_generation = 0
        self._allowed: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._webhook: _Webhook | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._methods.update(
            getUpdates=self._get_updates,
            setWebhook=self._set_webhook,
            deleteWebhook=self._delete_webhook,
        )

    async def start(self) -> None:
        await super().start()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def stop(self) -> None:
        """Cancel webhook deliveries, then stop serving."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        await super().stop()

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates not yet confirmed by getUpdates (or dispatched to the webhook)."""
        return list(self._pending)

    @property
    def webhook_url(self) -> str | None:
        return self._webhook.url if self._webhook else None

    @staticmethod
    def make_update(**fields: JsonDict) -> JsonDict:
        """An Update without update_id, e.g. make_update(message=...)."""
        if len(fields) != 1:
            raise ValueError("an update carries exactly one of message, callback_query, ...")
        return dict(fields)

    def push_update(self, update: JsonDict) -> JsonDict:
        """Queue one raw update (update_id assigned if missing); answers it."""
        self.push_updates([update])
        return update

    def push_updates(self, updates: Iterable[JsonDict]) -> list[JsonDict]:
        """Queue several updates at once: one waiting getUpdates answers them together."""
        pushed = list(updates)
        for update in pushed:
            if "update_id" in update:
                self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
            else:
                update["update_id"] = self._next_update_id
                self._next_update_id += 1
            for key in _MESSAGES:
                if key in update:
                    self._register_message(update[key])
            out_of_order = (
                bool(self._pending) and self._pending[-1]["update_id"] > update["update_id"]
            )
            self._pending.append(update)
            if out_of_order:
                self._pending.sort(key=lambda u: int(u["update_id"]))
        self._updates_changed.notify()
        if self._webhook is not None:
            self._dispatch_to_webhook()
        return pushed

    async def drain_webhook(self) -> None:
        """Wait until every webhook delivery under way has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _set_allowed(self, allowed: object) -> None:
        if isinstance(allowed, list):
            self._allowed = frozenset(str(kind) for kind in allowed) or DEFAULT_ALLOWED_UPDATES
        self._pending = [u for u in self._pending if _kind(u) in self._allowed]

    async def _get_updates(self, call: Call) -> list[JsonDict]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        params = call.params
        limit = params.get("limit", 100)
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout", 0)
        timeout = max(float(timeout), 0.0) if isinstance(timeout, int | float) else 0.0
        offset = params.get("offset")
        if isinstance(offset, int) and not isinstance(offset, bool):
            if offset < 0:
                self._pending = self._pending[offset:]
            else:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_changed.notify()  # an older poll still waiting loses with 409
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            self._set_allowed(params.get("allowed_updates"))
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            if self._down:
                raise Down
            remaining = deadline - asyncio.get_running_loop().time()
            if self._pending or remaining <= 0 or self._closing.is_set():
                handed = self._pending[:limit]
                for hook in self.hooks.updates:
                    hook(handed)
                return handed
            await self._updates_changed.wait(remaining)

    async def _set_webhook(self, call: Call) -> bool:
        params = call.params
        url = str(params.get("url") or "")
        if not url:
            self._webhook = None
            return True
        if not url.startswith(("http://", "https://")):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token") or None
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        connections = params.get("max_connections", 40)
        if not isinstance(connections, int) or not 1 <= connections <= 100:
            connections = 40
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._set_allowed(params.get("allowed_updates"))
        token = None if secret is None else str(secret)
        self._webhook = _Webhook(url, token, asyncio.Semaphore(connections))
        self._updates_changed.notify()
        self._dispatch_to_webhook()
        return True

    async def _delete_webhook(self, call: Call) -> bool:
        self._webhook = None
        if call.params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _dispatch_to_webhook(self) -> None:
        self._set_allowed(None)
        updates, self._pending = self._pending, []
        for update in updates:
            task = asyncio.get_running_loop().create_task(self._deliver(update))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, update: JsonDict) -> None:
        webhook, session = self._webhook, self._session
        if webhook is None or session is None:
            self._pending.append(update)  # the webhook went away before delivery
            self._pending.sort(key=lambda u: int(u["update_id"]))
            return
        headers = {}
        if webhook.secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        for hook in self.hooks.webhook:
            hook(update, "posting")
        async with webhook.semaphore:
            try:
                async with session.post(webhook.url, json=update, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, OSError, TimeoutError):
                status = 0
        self.webhook_deliveries.append(status)
        for hook in self.hooks.webhook:
            hook(update, "answered")

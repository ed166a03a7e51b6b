"""`python -m bot check`: a deployment checked without serving, one line per check.

    config    the settings load (the one clear line a bad setting gives)
    telegram  the token belongs to a bot (`getMe`)
    gateway   the key is accepted and both configured models are among those it may use
              (`GET /v1/models`, which new-api answers for free)

Each line says what to fix; the exit status is 0 only if every check passed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot import http_clients
from bot.config import Settings, load_settings
from bot.errors import ConfigError, GatewayAuthError, GatewayError
from bot.gateway.client import GatewayClient
from bot.imaging import ImageWorker
from bot.logs import redactor

Print = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """`ok   name: detail` or `FAIL name: detail`."""
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


async def check_telegram(settings: Settings) -> Check:
    """Whether Telegram knows the token."""
    from bot.tg.identity import whose_token

    try:
        return Check("telegram", True, f"the token belongs to {await whose_token(settings)}")
    except ConfigError:
        fix = "copy TELEGRAM_BOT_TOKEN again from @BotFather"
        return Check("telegram", False, f"Telegram rejected the token: {fix}")
    except ConnectionError as exc:
        fix = "check TELEGRAM_API_URL and the network"
        return Check("telegram", False, f"cannot reach {settings.telegram_root} ({exc}): {fix}")


async def check_gateway(settings: Settings) -> Check:
    """Whether the gateway accepts the key and offers both models."""
    base = str(settings.image_api_base_url)
    worker = ImageWorker(1)
    client = GatewayClient(
        http_clients.transport(2, base),
        worker,
        base_url=base,
        api_key=settings.image_api_key.get_secret_value(),
        group=settings.image_api_group,
        timeout=settings.request_timeout,
    )
    try:
        models = await client.models()
    except GatewayAuthError as exc:
        return Check(
            "gateway", False, f"the key was refused (HTTP {exc.status}): check IMAGE_API_KEY"
        )
    except GatewayError as exc:
        return Check(
            "gateway", False, f"cannot list models at {base} ({exc}): check IMAGE_API_BASE_URL"
        )
    finally:
        await client.aclose()
        worker.close()
    missing = [m for m in (settings.image_model, settings.image_model_hd) if m not in models]
    if missing:
        offered = ", ".join(models[:8]) or "none"
        return Check(
            "gateway",
            False,
            f"the key may not use {', '.join(missing)} (it may use: {offered}): "
            "fix IMAGE_MODEL / IMAGE_MODEL_HD or the key's group",
        )
    return Check(
        "gateway", True, f"the key may use {settings.image_model} and {settings.image_model_hd}"
    )


async def run_checks(say: Print = print) -> int:
    """Run every check, printing one line each; 0 if all passed, else 1."""
    try:
        settings = load_settings(Settings)
    except ConfigError as exc:
        say(Check("config", False, str(exc)).line())
        return 1
    redact = redactor(settings.secrets)
    say(Check("config", True, "the settings load").line())
    steps: list[Callable[[Settings], Awaitable[Check]]] = [check_telegram, check_gateway]
    results = await asyncio.gather(*(step(settings) for step in steps))
    for result in results:
        say(redact(result.line()))
    return 0 if all(result.ok for result in results) else 1

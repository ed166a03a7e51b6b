"""The one place where failures become a short sentence for the user.

Handlers raise; this handler explains. `BotError`s map to a text in the user's language;
anything else is a bug: logged with its traceback, and the user only hears that something
went wrong. In groups, refusals of access stay silent (SPEC section 2).
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot import texts
from bot.errors import (
    AccessDenied,
    BotError,
    DeliveryFailed,
    EmptyPrompt,
    GatewayAuthError,
    GatewayBadRequest,
    GatewayError,
    GatewayRateLimited,
    GatewayServerError,
    GatewayTimeout,
    GatewayUnreachable,
    InputDownloadFailed,
    InputImageInvalid,
    InputImageTooLarge,
    InputImageTooManyPixels,
    InputsGone,
    MalformedAnswer,
    NoImage,
    NotAdmin,
    QuotaExceeded,
    ResultDownloadFailed,
    TelegramFailed,
    TooManyInFlight,
    UnsupportedAspectRatio,
    UnsupportedMedia,
)
from bot.prompt import ASPECT_RATIOS
from bot.tg.context import BotContext
from bot.tg.replies import say, shorten

log = logging.getLogger(__name__)

_PLAIN: dict[type[BotError], str] = {
    AccessDenied: "access_denied",
    NotAdmin: "admin_only",
    TooManyInFlight: "too_many_in_flight",
    UnsupportedMedia: "unsupported_media",
    InputImageInvalid: "input_invalid",
    InputsGone: "inputs_gone",
    GatewayUnreachable: "gateway_unreachable",
    GatewayTimeout: "gateway_timeout",
    GatewayRateLimited: "gateway_rate_limited",
    GatewayAuthError: "gateway_auth",
    GatewayServerError: "gateway_server",
    MalformedAnswer: "gateway_malformed",
    ResultDownloadFailed: "result_download_failed",
    InputDownloadFailed: "input_download_failed",
    DeliveryFailed: "delivery_failed",
}
#: How much of the model's or the gateway's own words is relayed.
RELAYED_TEXT = 1500
RELAYED_ERROR = 300


def explain(error: BotError, lang: str) -> str:
    """The sentence that tells the user what went wrong."""
    if isinstance(error, QuotaExceeded):
        if error.limit == 0:
            return texts.tr(lang, "quota_zero")
        reset = texts.duration(lang, error.seconds_until_reset)
        return texts.tr(lang, "quota_exceeded", limit=error.limit, reset=reset)
    if isinstance(error, UnsupportedAspectRatio):
        return texts.tr(
            lang, "unsupported_ratio", ratio=error.ratio, ratios=" ".join(ASPECT_RATIOS)
        )
    if isinstance(error, EmptyPrompt):
        return texts.tr(lang, "empty_edit" if error.editing else "empty_prompt")
    if isinstance(error, InputImageTooLarge):
        return texts.tr(lang, "input_too_large", limit=error.limit // 2**20)
    if isinstance(error, InputImageTooManyPixels):
        return texts.tr(lang, "too_many_pixels", width=error.width, height=error.height)
    if isinstance(error, NoImage):
        if error.text:
            body = texts.tr(lang, "no_image", text=shorten(error.text, RELAYED_TEXT))
        else:
            body = texts.tr(lang, "no_image_silent")
        return f"{body}\n\n{texts.tr(lang, 'nothing_charged')}"
    if isinstance(error, GatewayBadRequest):
        message = shorten(error.message, RELAYED_ERROR)
        return f"{texts.tr(lang, 'gateway_refused', message=message)}\n" + texts.tr(
            lang, "nothing_charged"
        )
    key = next((k for cls, k in _PLAIN.items() if isinstance(error, cls)), "internal")
    sentence = texts.tr(lang, key)
    if isinstance(error, GatewayError | TelegramFailed):
        sentence += " " + texts.tr(lang, "nothing_charged")
    return sentence


async def report_error(update: object, context: BotContext) -> None:
    """Tell the user what failed, in their language; log what they need not see."""
    error = context.error
    if isinstance(error, Forbidden):
        log.warning("cannot write to the chat: %s", error.message)
        return
    if isinstance(error, GatewayAuthError):
        log.error("the gateway refused the API key: %s", error)
    elif isinstance(error, BotError):
        log.debug("request refused: %r", error)
    else:
        log.error("unhandled error", exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    user = update.effective_user
    lang = texts.language(user.language_code if user else None)
    chat = update.effective_chat
    if isinstance(error, AccessDenied) and chat.type != "private":
        return
    text = explain(error, lang) if isinstance(error, BotError) else texts.tr(lang, "internal")
    message = update.effective_message
    await say(context.bot, chat.id, text, message.message_id if message else None)

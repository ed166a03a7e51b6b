"""The one place where failures become a short sentence for the user.

Handlers raise; this explains. A `BotError` names its own sentence (see `bot.errors`);
anything else is a bug: logged with its traceback, and the user only hears that something
went wrong. Errors marked `quiet_in_groups` (refused access) stay silent in groups; a
repeated "still working" gets a reaction instead of a sentence.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot import texts
from bot.domain import Destination, Requester
from bot.errors import BotError, GatewayAuthError, GatewayOutage, TooManyInFlight
from bot.tg.context import BotContext
from bot.tg.gate import Priority
from bot.tg.reading import destination_of, presser_of, requester_of
from bot.tg.sending import react, say
from bot.tg.stars import pack_buttons

log = logging.getLogger(__name__)


def explain(error: BotError, lang: str) -> str:
    """The sentence that tells the user what went wrong."""
    sentence = texts.tr(lang, error.text_key, **error.text_values(lang))
    return texts.with_nothing_charged(lang, sentence) if error.nothing_charged else sentence


async def tell(context: BotContext, who: Requester, where: Destination, error: Exception) -> None:
    """Log `error` as its kind deserves, and explain it to `who` at `where`."""
    if isinstance(error, Forbidden):
        log.warning("cannot write to the chat: %s", error.message)
        return
    if isinstance(error, GatewayAuthError):
        log.error("the gateway refused the API key (check IMAGE_API_KEY): %s", error)
    elif isinstance(error, GatewayOutage):
        log.error("the image service is unavailable to the bot: %s", error)
    elif isinstance(error, BotError):
        log.debug("request refused: %r", error)
    else:
        log.error("unhandled error", exc_info=error)
    if isinstance(error, TooManyInFlight) and error.repeated:
        await react(context.bot, where)  # told once already: one notice per burst
        return
    if isinstance(error, BotError):
        if error.quiet_in_groups and not who.private:
            return
        text = explain(error, who.language)
    else:
        text = texts.tr(who.language, "internal")
    # The answer to a request outranks a "still working" notice in a paced chat.
    urgency = Priority.NOTICE if isinstance(error, TooManyInFlight) else Priority.RESULT
    shop = context.deps.shop
    offer = isinstance(error, BotError) and error.offers_packs and shop.open and who.private
    buttons = pack_buttons(shop.packs, who.language) if offer else None
    await say(context.bot, where, text, urgency, buttons)


async def report_error(update: object, context: BotContext) -> None:
    """PTB's error handler: tell the user of the update what failed, in their language."""
    error = context.error
    if not isinstance(error, Exception):
        return
    query = update.callback_query if isinstance(update, Update) else None
    message = update.effective_message if isinstance(update, Update) else None
    asker: tuple[Requester, Destination] | None = None
    if query is not None:
        with contextlib.suppress(TelegramError):
            await query.answer()
        asker = presser_of(query)
    elif message is not None and (message.from_user or message.sender_chat):
        asker = requester_of(message), destination_of(message)
    if asker is None:
        if not isinstance(error, BotError):
            log.error("unhandled error outside a chat", exc_info=error)
        return
    await tell(context, *asker, error)

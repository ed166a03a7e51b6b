"""From an addressed message to an image job (SPEC section 2, "What users do").

message ── album part? ─────────────────────────── albums.collect()
   │
   ├─ its own image, no instruction ────────────── kept as pending, "got N images"
   ├─ its own image + instruction ──────────────── edit
   ├─ text replying to a message with an image ─── edit that image
   ├─ text, pending images waiting ─────────────── edit / merge them
   └─ text ─────────────────────────────────────── generate
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence

from telegram import Message, Update

from bot import texts
from bot.domain import ImageJob, Requester
from bot.errors import BadInput, BotError, EmptyPrompt, UnsupportedMedia, UnusableImage
from bot.prompt import is_blank, split_aspect_ratio
from bot.tg.addressing import Instruction, is_private
from bot.tg.albums import Album
from bot.tg.context import BotContext
from bot.tg.inputs import image_ref, own_image
from bot.tg.jobs import run_job
from bot.tg.replies import answer

PENDING_TTL = 600.0


def requester_of(message: Message) -> Requester:
    """Who sent the message and where; anonymous admins count as the chat itself."""
    user = message.from_user
    sender = message.sender_chat
    if sender is not None and (user is None or user.is_bot):
        return Requester(sender.id, message.chat_id, message.chat.type, sender.username, "en")
    assert user is not None
    return Requester(
        user.id,
        message.chat_id,
        message.chat.type,
        user.username,
        texts.language(user.language_code),
    )


async def take_message(context: BotContext, message: Message, instruction: Instruction) -> None:
    """Turn one addressed message into a job, pending images, or a short answer."""
    deps = context.deps
    requester = requester_of(message)
    await deps.service.admit(requester)
    ref = own_image(message)
    if ref is not None and instruction.bare:
        await keep_pending(context, message, requester, [ref])
        return
    prompt, ratio = split_aspect_ratio(instruction.prompt)
    replied = image_ref(message.reply_to_message) if message.reply_to_message else None
    if ref is None and replied is None and not is_blank(prompt):
        pending = await deps.ledger.take_pending(requester.user_id, requester.chat_id, time.time())
        if pending:
            await _submit_pending(
                context, message, requester, instruction.hd, prompt, ratio, pending
            )
            return
    image = ref or replied  # its own image first, else the one it replies to
    await submit(
        context, message, requester, instruction.hd, prompt, ratio, [image] if image else []
    )


async def _submit_pending(
    context: BotContext,
    message: Message,
    requester: Requester,
    hd: bool,
    prompt: str,
    ratio: str | None,
    pending: list[str],
) -> None:
    """Run the job on the user's waiting images; unless they are unusable, a failure keeps them."""
    try:
        await submit(context, message, requester, hd, prompt, ratio, pending)
    except UnusableImage:
        raise  # keeping them would fail every text
    except BotError:
        await context.deps.ledger.put_pending(
            requester.user_id, requester.chat_id, pending, now=time.time(), ttl=PENDING_TTL
        )
        raise


async def take_album_part(
    context: BotContext, update: Update, message: Message, instruction: Instruction
) -> None:
    """Collect one part of an album; the part that opened it takes the whole album."""
    deps = context.deps
    album, opened = deps.albums.add(message, instruction)
    requester = requester_of(message)
    if album.addressed and await deps.access.allows(requester.user_id, requester.chat_id):
        for part, _ in album.parts:
            with contextlib.suppress(BadInput):
                ref = image_ref(part)
                if ref is not None:
                    deps.images.prefetch(ref)
    if not opened:
        return
    await deps.albums.complete(album)
    leader = album.leader()[0]
    try:
        await take_album(context, album)
    except BotError as error:
        if leader is message:
            raise
        # Answered like the result: as a reply to the part whose caption asked.
        await context.application.process_error(Update(update.update_id, message=leader), error)


async def take_album(context: BotContext, album: Album) -> None:
    """One merge (or edit) request with every image of the album, in album order."""
    if not album.addressed:
        return
    deps = context.deps
    leader, instruction = album.leader()
    if not instruction.wants_image:  # "/start" as the caption: as if sent alone
        await take_other_command(context, leader)
        return
    requester = requester_of(leader)
    await deps.service.admit(requester)
    refs = [ref for part, _ in album.ordered() if (ref := image_ref(part)) is not None]
    if not refs:
        raise UnsupportedMedia(leader.message_id)
    skipped = len(album.parts) - len(refs)
    if skipped:
        note = texts.tr(requester.language, "album_skipped", count=skipped)
        await answer(leader, note)
    if instruction.bare:
        await keep_pending(context, leader, requester, refs)
        return
    prompt, ratio = split_aspect_ratio(instruction.prompt)
    await submit(context, leader, requester, instruction.hd, prompt, ratio, refs)


async def take_other_command(context: BotContext, message: Message) -> None:
    """A command that is not for images where one was expected: explained in private only."""
    if is_private(message):
        requester = requester_of(message)
        await context.deps.service.admit(requester)
        await answer(message, texts.tr(requester.language, "unknown_command"))


async def keep_pending(
    context: BotContext, message: Message, requester: Requester, refs: Sequence[str]
) -> None:
    """Keep images until the user says what to do with them."""
    count = await context.deps.ledger.put_pending(
        requester.user_id, requester.chat_id, refs, now=time.time(), ttl=PENDING_TTL
    )
    await answer(message, texts.tr(requester.language, "pending_saved", count=count))


async def submit(
    context: BotContext,
    message: Message,
    requester: Requester,
    hd: bool,
    prompt: str,
    ratio: str | None,
    refs: Sequence[str],
) -> None:
    """Run the job for `prompt` on `refs`, answering `message`."""
    if is_blank(prompt):
        raise EmptyPrompt(editing=bool(refs))
    limit = context.deps.settings.max_input_images
    if len(refs) > limit:
        note = texts.tr(requester.language, "too_many_images", count=len(refs), max=limit)
        await answer(message, note)
    job = ImageJob(
        requester,
        prompt,
        tuple(refs[:limit]),
        hd=hd,
        aspect_ratio=ratio,
        reply_to=message.message_id,
    )
    await run_job(context, job)

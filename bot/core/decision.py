"""What a message asks for, decided without any I/O (SPEC section 2, "What users do").

    asked ─ a command that is not for images ──── explain (private chats; groups ignore it)
      ├─ other media and no image ──────────────── explain: only images work
      ├─ its own images, no instruction ────────── keep them as pending
      ├─ its own images + instruction ──────────── edit (one) or merge (several)
      ├─ text replying to a message with an image ─ edit that image
      ├─ text, pending images waiting ──────────── edit or merge them
      └─ text ──────────────────────────────────── generate

`decide()` is a pure function of the message as read (`Asked`), the user's pending images
and the input limit; whatever it needs from the outside world is looked up before.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Asked, ImageJob
from bot.errors import (
    BotError,
    EmptyPrompt,
    UnknownCommand,
    UnsupportedAspectRatio,
    UnsupportedMedia,
)
from bot.prompt import is_blank, split_aspect_ratio

IMAGE_COMMANDS = frozenset({"draw", "image", "imagine", "hd"})
HD_COMMAND = "hd"


@dataclass(frozen=True, slots=True)
class Note:
    """A sentence said before the answer: its key in `bot.texts`, and the placeholders."""

    key: str
    values: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, key: str, **values: object) -> Note:
        """The note `key` with these placeholders."""
        return cls(key, tuple(values.items()))


@dataclass(frozen=True, slots=True)
class Run:
    """Make an image: the job, after the notes."""

    job: ImageJob
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class Keep:
    """Keep the images until the user says what to do with them."""

    images: tuple[str, ...]
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class Explain:
    """Answer with the sentence of `error`; nothing is made."""

    error: BotError


Decision = Run | Keep | Explain


def wants_image(asked: Asked) -> bool:
    """No command, or one of the image commands."""
    return asked.command is None or asked.command in IMAGE_COMMANDS


def for_the_bot(asked: Asked) -> bool:
    """Whether the bot answers at all: addressed, and in groups only for image commands."""
    return asked.addressed and (asked.requester.private or wants_image(asked))


def may_use_pending(asked: Asked) -> bool:
    """Whether the user's pending images could be what this message is about."""
    return wants_image(asked) and not (asked.images or asked.replied_image or asked.other_media)


def decide(asked: Asked, pending: tuple[str, ...], max_images: int) -> Decision:
    """The answer to `asked`, given the user's `pending` images (oldest first)."""
    if not wants_image(asked):
        return Explain(UnknownCommand(asked.command))
    if not asked.images and asked.other_media:
        return Explain(UnsupportedMedia(asked.other_media))
    notes: tuple[Note, ...] = ()
    if asked.images and asked.other_media:
        notes = (Note.of("album_skipped", count=asked.other_media),)
    if asked.images and asked.bare:
        return Keep(asked.images, notes)
    try:
        prompt, ratio = split_aspect_ratio(asked.text)
    except UnsupportedAspectRatio as error:
        return Explain(error)
    images = asked.images or ((asked.replied_image,) if asked.replied_image else ())
    from_pending = not images and bool(pending) and not is_blank(prompt)
    if from_pending:
        images = pending
    if is_blank(prompt):
        return Explain(EmptyPrompt(editing=bool(images)))
    if len(images) > max_images:
        notes += (Note.of("too_many_images", count=len(images), max=max_images),)
    job = ImageJob(
        asked.requester,
        asked.destination,
        prompt,
        images[:max_images],
        hd=asked.command == HD_COMMAND,
        aspect_ratio=ratio,
        from_pending=from_pending,
    )
    return Run(job, notes)

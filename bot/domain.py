"""Plain values that travel between the Telegram adapter, the core and the stores.

Frozen dataclasses only: nothing here does I/O or knows about Telegram or SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class JobKind(StrEnum):
    """What a request does, derived from how many images it carries."""

    GENERATE = "generate"
    EDIT = "edit"
    MERGE = "merge"

    @classmethod
    def of(cls, images: int) -> JobKind:
        """generate without images, edit with one, merge with several."""
        if not images:
            return cls.GENERATE
        return cls.EDIT if images == 1 else cls.MERGE


class Status(StrEnum):
    """A ledger row's status; `RESERVED` marks a request still in flight."""

    RESERVED = "reserved"
    OK = "ok"
    FAILED = "failed"
    NO_IMAGE = "no_image"
    OVER_QUOTA = "over_quota"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks, and in which chat."""

    user_id: int
    chat_id: int
    chat_type: str = "private"
    username: str | None = None
    language: str = "en"

    @property
    def private(self) -> bool:
        """Whether the request comes from a one-to-one chat with the bot."""
        return self.chat_type == "private"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where everything a request produces goes: the chat, the message it answers, and
    the forum topic (`thread_id`; None outside topics and in the General topic, where
    Telegram refuses a thread id)."""

    chat_id: int
    reply_to: int | None = None
    thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose pending images: one user in one chat, in one forum topic (0: none)."""

    user_id: int
    chat_id: int
    thread_id: int = 0

    @classmethod
    def at(cls, requester: Requester, destination: Destination) -> Owner:
        """The owner of what `requester` asks at `destination`."""
        return cls(requester.user_id, requester.chat_id, destination.thread_id or 0)


@dataclass(frozen=True, slots=True)
class Asked:
    """A message, or a whole album, read once: who asks, where to answer, and what.

    `text` is the instruction without the command and the bot's mention; `images` are the
    message's own images (an album's in album order) as Telegram `file_id`s; `other_media`
    counts items that are not images (a sticker, a video, a non-image file).
    """

    requester: Requester
    destination: Destination
    addressed: bool
    command: str | None = None
    text: str = ""
    images: tuple[str, ...] = ()
    other_media: int = 0
    replied_image: str | None = None

    @property
    def owner(self) -> Owner:
        """Whose pending images this message may use or add to."""
        return Owner.at(self.requester, self.destination)

    @property
    def bare(self) -> bool:
        """Nothing asked: no instruction, no command (images sent like this wait for one)."""
        return not self.text and self.command is None


@dataclass(frozen=True, slots=True)
class ImageJob:
    """One request to the model: a prompt and zero or more input images, in order.

    Images are named by reference (a Telegram `file_id`) and fetched when the job runs, so
    a result button can run the same job again later from what the ledger stored.
    `from_pending` marks a job made of the user's pending images, which a failure keeps.
    """

    requester: Requester
    destination: Destination
    prompt: str
    images: tuple[str, ...] = ()
    hd: bool = False
    aspect_ratio: str | None = None
    from_pending: bool = False

    @property
    def kind(self) -> JobKind:
        """generate without images, edit with one, merge with several."""
        return JobKind.of(len(self.images))

    @property
    def owner(self) -> Owner:
        """Whose pending images a failed job from pending images gives back."""
        return Owner.at(self.requester, self.destination)


@dataclass(frozen=True, slots=True)
class InputImage:
    """One image the user gave, as the bytes the model receives."""

    data: bytes = field(repr=False)
    mime: str


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    """An image the model produced, checked to be a real image."""

    data: bytes = field(repr=False)
    mime: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        """File extension for the MIME type, without the dot."""
        return {"image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}.get(self.mime, "png")


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage as the gateway reported it."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """What one successful gateway call produced."""

    images: tuple[GeneratedImage, ...]
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class JobResult:
    """A finished job: the ledger row it was recorded as, and its images."""

    request_id: int
    images: tuple[GeneratedImage, ...]


# -- what the ledger stores and gives back -------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewRequest:
    """The facts of a request known before it runs, as its ledger row records them."""

    user_id: int
    username: str | None
    chat_id: int
    chat_type: str
    kind: str
    model: str
    hd: bool
    prompt: str
    quota_day: str
    aspect_ratio: str | None = None
    inputs: tuple[str, ...] = ()
    reply_to: int | None = None
    language: str | None = None
    thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """How a reserved request ended, as its row records it."""

    status: Status
    error: str | None = None
    usage: Usage | None = None
    cost: float = 0.0
    images: int = 0
    latency_ms: int | None = None
    bytes_delivered: int = 0


@dataclass(frozen=True, slots=True)
class Interrupted:
    """A request a crash cut off: where to say so, and in which language."""

    destination: Destination
    language: str


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A ledger row as far as the bot reads it back."""

    id: int
    user_id: int
    chat_id: int
    kind: str
    model: str
    hd: bool
    prompt: str
    aspect_ratio: str | None
    inputs: tuple[str, ...]
    status: str
    error: str | None
    created_at: str


@dataclass(frozen=True, slots=True)
class UserSettings:
    """What an admin set for one user."""

    quota_limit: int | None = None
    unlimited: bool = False
    banned: bool = False

    @property
    def switched_off(self) -> bool:
        """A limit of 0: no images at all, credits included (`bot.money`)."""
        return self.quota_limit == 0 and not self.unlimited


@dataclass(frozen=True, slots=True)
class Totals:
    """Counts over a set of rows."""

    requests: int = 0
    images: int = 0
    failures: int = 0
    cost: float = 0.0


@dataclass(frozen=True, slots=True)
class TopUser:
    """One line of the top-users table."""

    user_id: int
    username: str | None
    images: int
    cost: float

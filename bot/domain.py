"""Plain values that travel between the Telegram adapter, the service and the stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class JobKind(StrEnum):
    """What a request does, derived from how many images it carries."""

    GENERATE = "generate"
    EDIT = "edit"
    MERGE = "merge"


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
    """Who asks, and where."""

    user_id: int
    chat_id: int
    chat_type: str = "private"
    username: str | None = None
    language: str = "en"


@dataclass(frozen=True, slots=True)
class InputImage:
    """One image the user gave, as the bytes the model receives."""

    data: bytes = field(repr=False)
    mime: str


@dataclass(frozen=True, slots=True)
class ImageJob:
    """One request to the model: a prompt and zero or more input images, in order.

    Images are named by reference (a Telegram `file_id`) and fetched when the job runs, so
    a result button can run the same job again later from what the ledger stored.
    """

    requester: Requester
    prompt: str
    images: tuple[str, ...] = ()
    hd: bool = False
    aspect_ratio: str | None = None
    #: The message that asked, which the result (or the bad news) answers.
    reply_to: int | None = None

    @property
    def kind(self) -> JobKind:
        """generate without images, edit with one, merge with several."""
        if not self.images:
            return JobKind.GENERATE
        return JobKind.EDIT if len(self.images) == 1 else JobKind.MERGE


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

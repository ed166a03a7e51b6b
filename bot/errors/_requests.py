"""Requests refused before anything was charged, and Telegram failures (see `bot.errors`)."""

from __future__ import annotations

from collections.abc import Sequence

from bot import texts
from bot.errors._base import BotError


class ConfigError(BotError):
    """A setting is missing or malformed (never shown in a chat)."""


class RejectedRequest(BotError):
    """A request refused before anything was called or charged."""


class AccessDenied(RejectedRequest):
    """The user or chat is not allowed, or the user is banned."""

    text_key = "access_denied"
    quiet_in_groups = True


class NotAdmin(RejectedRequest):
    """An admin command from a user not in `ADMIN_USER_IDS`."""

    text_key = "admin_only"


class QuotaExceeded(RejectedRequest):
    """The user's units for today are spent (or were set to zero)."""

    def __init__(self, limit: int, seconds_until_reset: int) -> None:
        super().__init__(f"quota of {limit} reached")
        self.limit = limit
        self.seconds_until_reset = seconds_until_reset
        self.text_key = "quota_exceeded" if limit else "quota_zero"
        # switched off for this account: credits could not be spent either
        self.offers_packs = bool(limit)

    #: Whether the answer offers Stars packs (when the bot sells them).
    offers_packs = True
    #: The ledger row that recorded the refusal.
    request_id: int | None = None

    def text_values(self, lang: str) -> dict[str, object]:
        return {
            "limit": texts.images(lang, self.limit),
            "reset": texts.duration(lang, self.seconds_until_reset),
        }


class GroupQuotaExceeded(QuotaExceeded):
    """The group's images for today are spent (`GROUP_DAILY_QUOTA` or its own limit)."""

    def __init__(self, limit: int, seconds_until_reset: int) -> None:
        super().__init__(limit, seconds_until_reset)
        self.text_key = "group_quota_exceeded"


class BudgetExhausted(QuotaExceeded):
    """The bot's `DAILY_BUDGET` is spent: no one gets an image until the reset."""

    offers_packs = False

    def __init__(self, seconds_until_reset: int) -> None:
        super().__init__(0, seconds_until_reset)
        self.text_key = "budget_exhausted"


class TooManyInFlight(RejectedRequest):
    """The user already has the maximum number of requests running.

    `repeated`: they were told so already since their last request finished, so a burst of
    messages gets one sentence and then only a reaction (Telegram paces each chat, and a
    result must not queue behind notices).
    """

    text_key = "too_many_in_flight"

    def __init__(self, user_id: int, *, repeated: bool = False) -> None:
        super().__init__(user_id)
        self.repeated = repeated


class UnknownCommand(RejectedRequest):
    """A command that is not the bot's where an image request was expected."""

    text_key = "unknown_command"


class BadInput(RejectedRequest):
    """The message cannot become an image request."""


class UnsupportedAspectRatio(BadInput):
    """The user asked for an aspect ratio the model does not offer."""

    text_key = "unsupported_ratio"

    def __init__(self, ratio: str, supported: Sequence[str]) -> None:
        super().__init__(ratio)
        self.ratio = ratio
        self.supported = tuple(supported)

    def text_values(self, lang: str) -> dict[str, object]:
        return {"ratio": self.ratio, "ratios": " ".join(self.supported)}


class UnsupportedMedia(BadInput):
    """A sticker, video, voice note or file that is not an image."""

    text_key = "unsupported_media"


class UnusableImage(BadInput):
    """An input image that no instruction can make work: the user must send another."""


class InputImageTooLarge(UnusableImage):
    """An input image is over the Bot API's download limit."""

    text_key = "input_too_large"

    def __init__(self, ref: str, limit: int) -> None:
        super().__init__(ref)
        self.limit = limit

    def text_values(self, lang: str) -> dict[str, object]:
        return {"limit": self.limit // 2**20}


class InputImageTooManyPixels(UnusableImage):
    """An input image too large to decode safely (Pillow's decompression-bomb limit)."""

    text_key = "too_many_pixels"

    def __init__(self, width: int, height: int) -> None:
        super().__init__(f"{width}x{height}")
        self.width = width
        self.height = height

    def text_values(self, lang: str) -> dict[str, object]:
        return {"width": self.width, "height": self.height}


class InputImageInvalid(UnusableImage):
    """An input image is corrupt or not an image at all."""

    text_key = "input_invalid"


class InputsGone(UnusableImage):
    """A result button whose original inputs can no longer be fetched."""

    text_key = "inputs_gone"


class EmptyPrompt(BadInput):
    """No instruction was given (`editing`: for images the user sent)."""

    def __init__(self, editing: bool = False) -> None:
        super().__init__("empty prompt")
        self.editing = editing
        self.text_key = "empty_edit" if editing else "empty_prompt"


class TelegramFailed(BotError):
    """Telegram would not give or take a file, even after retries; nothing is charged."""

    nothing_charged = True


class InputDownloadFailed(TelegramFailed):
    """An input image could not be fetched from Telegram."""

    text_key = "input_download_failed"


class DeliveryFailed(TelegramFailed):
    """The result was made but could not be sent to the chat."""

    text_key = "delivery_failed"

"""Errors the bot raises, each carrying the sentence that explains it to the user.

A `BotError` names its sentence in `bot.texts` (`text_key`; `text_values()` fills it),
whether "nothing was charged" follows, and whether groups hear it at all: class attributes,
inherited until a subclass names its own. Anything else is a bug: logged with its traceback,
while the user gets the generic apology.

    BotError
    ├── ConfigError                 a setting is missing or malformed (start-up only)
    ├── RejectedRequest             refused before anything was charged or called
    │   ├── AccessDenied            not on the allow-list, or banned (silent in groups)
    │   ├── NotAdmin                an admin command from someone else
    │   ├── QuotaExceeded           today's units are spent
    │   ├── TooManyInFlight         the user already has the maximum number running
    │   ├── UnknownCommand          a command that is not the bot's, where an image was expected
    │   └── BadInput                the message cannot become a request
    │       ├── UnsupportedAspectRatio
    │       ├── UnsupportedMedia    sticker, video, voice, non-image file
    │       ├── UnusableImage       an input image that will never work, however asked
    │       │   ├── InputImageTooLarge  over the bot's download limit (20 MB)
    │       │   ├── InputImageTooManyPixels  too many pixels to decode safely
    │       │   ├── InputImageInvalid   corrupt or not an image
    │       │   └── InputsGone      a button's original inputs are no longer available
    │       └── EmptyPrompt
    ├── TelegramFailed              Telegram would not give or take a file; nothing is charged
    │   ├── InputDownloadFailed     an input image could not be fetched
    │   └── DeliveryFailed          the result could not be sent
    └── GatewayError                the image gateway failed; nothing is charged
        ├── GatewayStatusError      an HTTP error answer (status, message)
        │   ├── GatewayBadRequest   400, 404, 413, 422 ...: not retried
        │   ├── GatewayAuthError    401, 403: not retried
        │   ├── GatewayRateLimited  429: retried, honouring Retry-After
        │   └── GatewayServerError  5xx: retried
        ├── GatewayTimeout          no answer in time: retried within REQUEST_TIMEOUT
        ├── GatewayUnreachable      connection refused, reset, DNS
        ├── MalformedAnswer         not the chat-completion JSON we expect
        ├── NoImage                 a valid answer without an image (refusal, question)
        └── ResultDownloadFailed    the answer linked an image we could not fetch
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import texts
from bot.domain import Usage


class BotError(Exception):
    """Base class of every error the user may be told about: explained by the sentence
    `text_key`, followed by "nothing was charged" if `nothing_charged`, and not at all in
    groups if `quiet_in_groups`.
    """

    text_key = "internal"
    nothing_charged = False
    quiet_in_groups = False

    def text_values(self, lang: str) -> dict[str, object]:
        """The placeholders of the sentence, in the user's language."""
        return {}


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

    def text_values(self, lang: str) -> dict[str, object]:
        return {"limit": self.limit, "reset": texts.duration(lang, self.seconds_until_reset)}


class TooManyInFlight(RejectedRequest):
    """The user already has the maximum number of requests running."""

    text_key = "too_many_in_flight"


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


class GatewayError(BotError):
    """The image gateway failed; nothing is charged."""

    nothing_charged = True
    retryable = False
    #: Token usage, when the gateway did answer (no image, or none could be fetched).
    usage: Usage | None = None


class GatewayStatusError(GatewayError):
    """The gateway answered with an HTTP error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class GatewayBadRequest(GatewayStatusError):
    """The gateway refused the request itself (4xx other than 401/403/429)."""

    text_key = "gateway_refused"

    def text_values(self, lang: str) -> dict[str, object]:
        return {"message": texts.shorten(self.message, texts.RELAYED_ERROR)}


class GatewayAuthError(GatewayStatusError):
    """The API key was refused (401/403)."""

    text_key = "gateway_auth"


class GatewayRateLimited(GatewayStatusError):
    """429: too many requests; `retry_after` seconds when the gateway said so."""

    text_key = "gateway_rate_limited"
    retryable = True

    def __init__(self, status: int, message: str, retry_after: float | None) -> None:
        super().__init__(status, message)
        self.retry_after = retry_after


class GatewayServerError(GatewayStatusError):
    """5xx: the gateway or the model upstream failed; 500, 502, 503 and 504 are retried."""

    text_key = "gateway_server"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.retryable = status in (500, 502, 503, 504)


class GatewayTimeout(GatewayError):
    """No complete answer in time; retried while the request's deadline allows."""

    text_key = "gateway_timeout"
    retryable = True


class GatewayUnreachable(GatewayError):
    """The connection failed or broke before an answer arrived."""

    text_key = "gateway_unreachable"
    retryable = True


class MalformedAnswer(GatewayError):
    """The answer is not the chat-completion JSON we expect."""

    text_key = "gateway_malformed"


class NoImage(GatewayError):
    """A valid answer that carries no image: the model's text is relayed."""

    def __init__(self, text: str, usage: Usage | None = None) -> None:
        super().__init__("answer carries no image")
        self.text = text
        self.usage = usage
        self.text_key = "no_image" if text else "no_image_silent"

    def text_values(self, lang: str) -> dict[str, object]:
        return {"text": texts.shorten(self.text, texts.RELAYED_TEXT)}


class ResultDownloadFailed(GatewayError):
    """The answer linked an image that could not be downloaded or is not an image.

    Not retried: calling the model again would pay for a second image.
    """

    text_key = "result_download_failed"

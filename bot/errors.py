"""Errors the bot raises and turns into one short sentence for the user.

Every error a user can meet derives from `BotError`; the Telegram adapter maps each class
to a text in `bot.texts` and never shows the exception itself. Anything else is a bug: it
is logged with its traceback and the user gets a generic apology.

    BotError
    ├── ConfigError                 a setting is missing or malformed (start-up only)
    ├── RejectedRequest             refused before anything was charged or called
    │   ├── AccessDenied            not on the allow-list, or banned
    │   ├── NotAdmin                an admin command from someone else
    │   ├── QuotaExceeded           today's units are spent
    │   ├── TooManyInFlight         the user already has the maximum number running
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

from bot.domain import Usage


class BotError(Exception):
    """Base class of every error the user may be told about."""


class ConfigError(BotError):
    """A setting is missing or malformed."""


class RejectedRequest(BotError):
    """A request refused before anything was called or charged."""


class AccessDenied(RejectedRequest):
    """The user or chat is not allowed, or the user is banned."""


class NotAdmin(RejectedRequest):
    """An admin command from a user not in `ADMIN_USER_IDS`."""


class QuotaExceeded(RejectedRequest):
    """The user's units for today are spent."""

    def __init__(self, limit: int, seconds_until_reset: int) -> None:
        super().__init__(f"quota of {limit} reached")
        self.limit = limit
        self.seconds_until_reset = seconds_until_reset


class TooManyInFlight(RejectedRequest):
    """The user already has the maximum number of requests running."""


class BadInput(RejectedRequest):
    """The message cannot become an image request."""


class UnsupportedAspectRatio(BadInput):
    """The user asked for an aspect ratio the model does not offer."""

    def __init__(self, ratio: str) -> None:
        super().__init__(ratio)
        self.ratio = ratio


class UnsupportedMedia(BadInput):
    """A sticker, video, voice note or file that is not an image."""


class UnusableImage(BadInput):
    """An input image that no instruction can make work: the user must send another."""


class InputImageTooLarge(UnusableImage):
    """An input image is over the Bot API's download limit."""

    def __init__(self, ref: str, limit: int) -> None:
        super().__init__(ref)
        self.limit = limit


class InputImageTooManyPixels(UnusableImage):
    """An input image too large to decode safely (Pillow's decompression-bomb limit)."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(f"{width}x{height}")
        self.width = width
        self.height = height


class InputImageInvalid(UnusableImage):
    """An input image is corrupt or not an image at all."""


class InputsGone(UnusableImage):
    """A result button whose original inputs can no longer be fetched."""


class EmptyPrompt(BadInput):
    """No instruction was given (`editing`: for images the user sent)."""

    def __init__(self, editing: bool = False) -> None:
        super().__init__("empty prompt")
        self.editing = editing


class TelegramFailed(BotError):
    """Telegram would not give or take a file, even after retries; nothing is charged."""


class InputDownloadFailed(TelegramFailed):
    """An input image could not be fetched from Telegram."""


class DeliveryFailed(TelegramFailed):
    """The result was made but could not be sent to the chat."""


class GatewayError(BotError):
    """The image gateway failed; nothing is charged."""

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


class GatewayAuthError(GatewayStatusError):
    """The API key was refused (401/403)."""


class GatewayRateLimited(GatewayStatusError):
    """429: too many requests; `retry_after` seconds when the gateway said so."""

    retryable = True

    def __init__(self, status: int, message: str, retry_after: float | None) -> None:
        super().__init__(status, message)
        self.retry_after = retry_after


class GatewayServerError(GatewayStatusError):
    """5xx: the gateway or the model upstream failed; 500, 502, 503 and 504 are retried."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.retryable = status in (500, 502, 503, 504)


class GatewayTimeout(GatewayError):
    """No complete answer in time; retried while the request's deadline allows."""

    retryable = True


class GatewayUnreachable(GatewayError):
    """The connection failed or broke before an answer arrived."""

    retryable = True


class MalformedAnswer(GatewayError):
    """The answer is not the chat-completion JSON we expect."""


class NoImage(GatewayError):
    """A valid answer that carries no image: the model's text is relayed."""

    def __init__(self, text: str, usage: Usage | None = None) -> None:
        super().__init__("answer carries no image")
        self.text = text
        self.usage = usage


class ResultDownloadFailed(GatewayError):
    """The answer linked an image that could not be downloaded or is not an image.

    Not retried: calling the model again would pay for a second image.
    """

"""Errors the bot raises, each carrying the sentence that explains it to the user.

The public surface; the classes live in `_base`, `_requests` and `_gateway`.

A `BotError` names its sentence in `bot.texts` (`text_key`; `text_values()` fills it),
whether "nothing was charged" follows, and whether groups hear it at all: class attributes,
inherited until a subclass names its own. Anything else is a bug: logged with its traceback,
while the user gets the generic apology.

    BotError
    ├── ConfigError                 a setting is missing or malformed (start-up only)
    ├── RejectedRequest             refused before anything was charged or called
    │   ├── AccessDenied            not on the allow-list, or banned (silent in groups)
    │   ├── NotAdmin                an admin command from someone else
    │   ├── QuotaExceeded           today's units are spent (the answer offers Stars packs)
    │   │   ├── GroupQuotaExceeded  the group's images for today are spent
    │   │   └── BudgetExhausted     the bot's DAILY_BUDGET is spent
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
        │   ├── GatewayOutage       the service is unavailable to the bot: not retried,
        │   │   │                   users hear "unavailable", admins are alerted
        │   │   ├── GatewayAuthError     401, 403: the key is refused
        │   │   └── GatewayBalanceSpent  403 insufficient_user_quota: the account ran dry
        │   ├── GatewayRateLimited  429: retried, honouring Retry-After
        │   └── GatewayServerError  5xx: retried
        ├── ServiceDown             failing again while 5 failures in a row are an outage
        ├── GatewayTimeout          no answer in time: retried within REQUEST_TIMEOUT
        ├── GatewayUnreachable      connection refused, reset, DNS
        ├── MalformedAnswer         not the chat-completion JSON we expect
        ├── NoImage                 a valid answer without an image (refusal, question)
        │   └── SafetyBlocked       the model's safety filter blocked it: never retried
        └── ResultDownloadFailed    the answer linked an image we could not fetch
"""

from __future__ import annotations

from bot.errors._base import BotError
from bot.errors._gateway import (
    GatewayAuthError,
    GatewayBadRequest,
    GatewayBalanceSpent,
    GatewayError,
    GatewayOutage,
    GatewayRateLimited,
    GatewayServerError,
    GatewayStatusError,
    GatewayTimeout,
    GatewayUnreachable,
    MalformedAnswer,
    NoImage,
    ResultDownloadFailed,
    SafetyBlocked,
    ServiceDown,
)
from bot.errors._requests import (
    AccessDenied,
    BadInput,
    BudgetExhausted,
    ConfigError,
    DeliveryFailed,
    EmptyPrompt,
    GroupQuotaExceeded,
    InputDownloadFailed,
    InputImageInvalid,
    InputImageTooLarge,
    InputImageTooManyPixels,
    InputsGone,
    NotAdmin,
    QuotaExceeded,
    RejectedRequest,
    TelegramFailed,
    TooManyInFlight,
    UnknownCommand,
    UnsupportedAspectRatio,
    UnsupportedMedia,
    UnusableImage,
)

__all__ = [
    "AccessDenied",
    "BadInput",
    "BotError",
    "BudgetExhausted",
    "ConfigError",
    "DeliveryFailed",
    "EmptyPrompt",
    "GatewayAuthError",
    "GatewayBadRequest",
    "GatewayBalanceSpent",
    "GatewayError",
    "GatewayOutage",
    "GatewayRateLimited",
    "GatewayServerError",
    "GatewayStatusError",
    "GatewayTimeout",
    "GatewayUnreachable",
    "GroupQuotaExceeded",
    "InputDownloadFailed",
    "InputImageInvalid",
    "InputImageTooLarge",
    "InputImageTooManyPixels",
    "InputsGone",
    "MalformedAnswer",
    "NoImage",
    "NotAdmin",
    "QuotaExceeded",
    "RejectedRequest",
    "ResultDownloadFailed",
    "SafetyBlocked",
    "ServiceDown",
    "TelegramFailed",
    "TooManyInFlight",
    "UnknownCommand",
    "UnsupportedAspectRatio",
    "UnsupportedMedia",
    "UnusableImage",
]

"""Failures of the image gateway; nothing is charged (see `bot.errors`)."""

from __future__ import annotations

from bot import texts
from bot.domain import Usage
from bot.errors._base import BotError


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


class GatewayOutage(GatewayStatusError):
    """The gateway will not serve the bot at all until the operator acts: an outage.

    Users hear only that the service is unavailable (the gateway's text carries balances
    and request ids); admins are alerted.
    """

    text_key = "gateway_unavailable"


class GatewayAuthError(GatewayOutage):
    """The API key was refused (401/403)."""


class GatewayBalanceSpent(GatewayOutage):
    """403 `insufficient_user_quota` / `pre_consume_token_quota_failed`: the account ran dry."""


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


class ServiceDown(GatewayError):
    """Requests keep failing at the gateway (an outage episode is under way): users hear
    that the service is unavailable rather than each failure's own sentence."""

    text_key = "gateway_unavailable"


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

    @property
    def ledger_note(self) -> str:
        """What the ledger row's error column says."""
        return self.text or "no image"


class SafetyBlocked(NoImage):
    """The model's safety filter blocked the request (`finish_reason: content_filter`, or
    400 `prompt_blocked`): not a failure of the service, never retried, never charged.
    """

    def __init__(self, reason: str, usage: Usage | None = None) -> None:
        super().__init__("", usage)
        self.reason = reason
        self.text_key = "safety_blocked"

    def text_values(self, lang: str) -> dict[str, object]:
        return {}

    @property
    def ledger_note(self) -> str:
        return f"safety block: {self.reason}"


class ResultDownloadFailed(GatewayError):
    """The answer linked an image that could not be downloaded or is not an image.

    Not retried: calling the model again would pay for a second image.
    """

    text_key = "result_download_failed"

"""Operator alerts as episodes (SPEC section 5): one message per admin when an outage
begins, and one when it ends, each in the admin's language; logged at ERROR.

    balance    the gateway account ran dry (new-api 403 insufficient_user_quota)
    key        the gateway rejects the key (401/403)
    failures   5 requests in a row failed at the gateway
    budget     DAILY_BUDGET is reached (ends at the day's reset)

The gateway episodes end with the next image the gateway makes. Episodes live in memory: a
restart during one announces it again at its next occurrence, which errs on the side of
telling the operator.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol

from bot.errors import GatewayAuthError, GatewayBalanceSpent, GatewayError, NoImage

log = logging.getLogger(__name__)

FAILURES_IN_A_ROW = 5


class Episode(StrEnum):
    """What an alert is about; `alert_<value>` is its sentence."""

    BALANCE = "balance"
    KEY = "key"
    FAILURES = "failures"
    BUDGET = "budget"


class AdminNotifier(Protocol):
    """Sends one sentence to every admin, each in their own language (never raises)."""

    def tell_admins(self, key: str, values: dict[str, object]) -> None:
        """Send `texts.tr(lang, key, **values)` to each admin, in the background."""
        ...


class Alerts:
    """Opens and closes episodes from what the service sees."""

    def __init__(
        self,
        notifier: AdminNotifier,
        clock: Callable[[], float] = time.time,
        *,
        failures_in_a_row: int = FAILURES_IN_A_ROW,
    ) -> None:
        self._notifier = notifier
        self._clock = clock
        self._threshold = failures_in_a_row
        self._open: dict[Episode, float] = {}
        self._failures = 0
        self._budget_day: str | None = None

    @property
    def open(self) -> frozenset[Episode]:
        """The episodes under way."""
        return frozenset(self._open)

    def gateway_failed(self, error: GatewayError) -> None:
        """A request failed at the gateway (a valid answer without an image does not count)."""
        if isinstance(error, NoImage):
            return
        self._failures += 1
        if isinstance(error, GatewayBalanceSpent):
            self._begin(Episode.BALANCE, error)
        elif isinstance(error, GatewayAuthError):
            self._begin(Episode.KEY, error)
        if self._failures >= self._threshold:
            self._begin(Episode.FAILURES, error)

    @property
    def failing(self) -> bool:
        """Whether requests keep failing at the gateway (the `failures` episode is open)."""
        return Episode.FAILURES in self._open

    def gateway_answered(self) -> None:
        """The gateway made an image (or answered properly): its episodes are over."""
        self._failures = 0
        for episode in (Episode.BALANCE, Episode.KEY, Episode.FAILURES):
            self._end(episode)

    def budget_reached(self, day: str) -> None:
        """A request found `DAILY_BUDGET` spent on `day`."""
        if self._budget_day != day:
            self._budget_day = day
            self._begin(Episode.BUDGET, None)

    def day_is(self, day: str) -> None:
        """The quota day now; a budget episode of an earlier day is over."""
        if self._budget_day is not None and self._budget_day != day:
            self._budget_day = None
            self._end(Episode.BUDGET)

    def _begin(self, episode: Episode, error: GatewayError | None) -> None:
        if episode in self._open:
            return
        self._open[episode] = self._clock()
        log.error("alert: %s episode began%s", episode.value, f" ({error})" if error else "")
        self._notifier.tell_admins(f"alert_{episode.value}", {"since": _clock_time(self._clock())})

    def _end(self, episode: Episode) -> None:
        since = self._open.pop(episode, None)
        if since is None:
            return
        minutes = max(1, round((self._clock() - since) / 60))
        log.error("alert: %s episode ended after %d min", episode.value, minutes)
        self._notifier.tell_admins(
            f"alert_{episode.value}_over", {"since": _clock_time(since), "minutes": minutes}
        )


def _clock_time(moment: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(moment))

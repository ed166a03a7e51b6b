"""Money as integers: what a request may take, what Stars buy, what was paid.

Prices and budgets are kept in micro-units of the gateway's price unit (`0.028` is
`28_000`), so sums are exact; image units and credits are whole images; Stars are whole
Stars. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MICROS = 1_000_000


def to_micros(amount: float | Decimal | str) -> int:
    """A price or budget in micro-units, rounded to the nearest micro."""
    return int((Decimal(str(amount)) * MICROS).to_integral_value())


def from_micros(micros: int) -> Decimal:
    """Micro-units back as a price."""
    return Decimal(micros) / MICROS


@dataclass(frozen=True, slots=True)
class Charge:
    """What one request takes, and the limits it must fit under today (None: no limit):
    `limit` and `group_limit` are the defaults, for a user or group an admin set no limit of
    their own for (the ledger reads those in the reservation itself).

    The request is paid with today's free units when they cover it and the group's limit
    has room; otherwise with credits, which pass the group's limit. The bot's budget holds
    either way. A user's limit of 0 switches them off: credits do not pass it.
    """

    units: int
    limit: int | None = None
    group_limit: int | None = None
    budget: int | None = None
    price: int = 0


@dataclass(frozen=True, slots=True)
class Spent:
    """How a reserved request is paid."""

    request_id: int
    credits: int = 0


@dataclass(frozen=True, slots=True)
class Pack:
    """A number of images sold for a number of Stars (`STARS_PACKS`)."""

    images: int
    stars: int

    def payload(self, buyer: int) -> str:
        """The invoice payload naming the pack and the buyer."""
        return f"pack:{self.images}:{self.stars}:{buyer}"

    @classmethod
    def from_payload(cls, payload: str) -> tuple[Pack, int] | None:
        """The pack and buyer a payload names, or None if it is not one of ours."""
        parts = payload.split(":")
        if len(parts) != 4 or parts[0] != "pack" or not all(p.isdecimal() for p in parts[1:]):
            return None
        return cls(int(parts[1]), int(parts[2])), int(parts[3])


def parse_packs(text: str) -> tuple[Pack, ...]:
    """`20:50,100:200` as packs; raises ValueError naming what is wrong."""
    packs: list[Pack] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        images, _, stars = item.partition(":")
        if not (images.isdecimal() and stars.isdecimal()) or not int(images) or not int(stars):
            raise ValueError(f"{item!r} is not images:stars with both above 0, e.g. 20:50")
        packs.append(Pack(int(images), int(stars)))
    if len({pack.images for pack in packs}) != len(packs):
        raise ValueError("two packs have the same number of images")
    return tuple(sorted(packs, key=lambda pack: pack.images))


@dataclass(frozen=True, slots=True)
class Payment:
    """A Stars payment as the ledger holds it."""

    charge_id: str
    user_id: int
    images: int
    stars: int
    status: str
    created_at: str
    provider_charge_id: str = ""
    clawed_back: int = 0


@dataclass(frozen=True, slots=True)
class DayUse:
    """Today's figures a refusal is explained with."""

    units: int
    group_images: int
    spent: int
    credits: int

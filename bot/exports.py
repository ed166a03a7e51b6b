"""What the CLI writes: the ledger and the payments as CSV that is safe in a spreadsheet.

A text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed
with `'` (SPEC section 5): prompts and usernames are anyone's text, and a spreadsheet would
run `=HYPERLINK(…)` as a formula. Numbers stay numbers.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict
from typing import Any, TextIO

from bot.ledger import Ledger
from bot.money import Payment

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """`value`, with a text that a spreadsheet would take for a formula defused."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """`csv.DictWriter` that defuses every cell."""

    def __init__(self, out: TextIO, fieldnames: list[str]) -> None:
        self._writer = csv.DictWriter(out, fieldnames=fieldnames)
        self._writer.writeheader()

    def row(self, row: Mapping[str, Any]) -> None:
        """Write one row."""
        self._writer.writerow({key: safe_cell(value) for key, value in row.items()})


async def write_requests(ledger: Ledger, since: str, out: TextIO) -> None:
    """Every ledger row created on or after `since`."""
    writer = SafeWriter(out, await ledger.requests.columns())
    async for row in ledger.requests.rows_since(since):
        writer.row(row)


async def write_payments(payments: AsyncIterator[Payment], out: TextIO) -> int:
    """The payments as CSV; how many there were."""
    writer = SafeWriter(out, list(Payment.__dataclass_fields__))
    count = 0
    async for payment in payments:
        writer.row(asdict(payment))
        count += 1
    return count

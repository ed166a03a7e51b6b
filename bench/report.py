"""Figures, the table they are printed as, and the JSON file they are saved to.

A `Figure` is one row of the table: what the bot measured, the baseline measured beside it
in the same run (the floor, or another in-run baseline), the target, and the verdict:
PASS or MISS when the figure has a target, `info` when it is context for another row,
`n/a` when it could not be measured (with the reason in the note).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"


@dataclass
class Figure:
    """One measured figure and its verdict."""

    row: str  # the scenario it belongs to (the names `--only` takes)
    name: str
    value: float | None
    unit: str
    floor: float | None = None
    target: str = ""
    ok: bool | None = None  # None: no verdict (info, or n/a when value is None)
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """bot / floor, when both exist."""
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor

    @property
    def verdict(self) -> str:
        """PASS, MISS, info or n/a."""
        if self.ok is not None:
            return "PASS" if self.ok else "MISS"
        return "n/a" if self.value is None else "info"

    def as_json(self) -> dict[str, Any]:
        """The figure with its derived ratio and verdict."""
        return {**asdict(self), "ratio": self.ratio, "verdict": self.verdict}


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    return f"{value:.2f} {unit}".rstrip()


def render(figures: Sequence[Figure]) -> str:
    """The figures as an aligned text table, notes below it."""
    header = ("row", "figure", "bot", "floor / baseline", "ratio", "target", "result")
    lines = [
        (
            f.row,
            f.name,
            _number(f.value, f.unit) if f.value is not None else "n/a",
            _number(f.floor, f.unit),
            f"{f.ratio:.2f}x" if f.ratio is not None else "-",
            f.target or "-",
            f.verdict,
        )
        for f in figures
    ]
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [fmt(header), fmt(["-" * w for w in widths])]
    out += [fmt(line) for line in lines]
    notes = [f"  [{f.row}] {f.name}: {f.note}" for f in figures if f.note]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)


def summary(figures: Sequence[Figure]) -> str:
    """One line: how many targets passed and which were missed."""
    judged = [f for f in figures if f.ok is not None]
    missed = [f"{f.row}: {f.name}" for f in judged if not f.ok]
    line = f"{len(judged) - len(missed)}/{len(judged)} targets met"
    return line + (f"; missed: {'; '.join(missed)}" if missed else "")


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    """What the numbers were measured on, and which code."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "bot_changes_not_committed": _git("status", "--porcelain", "--", "bot").splitlines(),
    }


def document(
    figures: Sequence[Figure], started: datetime, seconds: float, options: dict[str, Any]
) -> dict[str, Any]:
    """The JSON document of a run."""
    return {
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(seconds, 1),
        "machine": machine(),
        "options": options,
        "summary": summary(figures),
        "figures": [f.as_json() for f in figures],
    }


def write(doc: dict[str, Any], path: Path | None, started: datetime) -> list[Path]:
    """Save to `path`, or to results/<timestamp>.json and results/latest.json."""
    text = json.dumps(doc, indent=2) + "\n"
    if path is not None:
        targets = [path]
    else:
        stamp = started.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        targets = [RESULTS_DIR / f"{stamp}.json", RESULTS_DIR / "latest.json"]
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return targets

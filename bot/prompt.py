"""The user's instruction: aspect ratio options taken out of the prompt text."""

from __future__ import annotations

import re
import unicodedata

from bot.errors import UnsupportedAspectRatio

ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")

_RATIO = r"(\d{1,3})\s*[:：xX×]\s*(\d{1,3})"
_OPTION = re.compile(r"(?:^|\s)--(?:ar|aspect)(?:\s+|=)(\S+)")
#: As the first word only the colon forms count: "3x3 grid of icons" is a prompt.
_LEADING = re.compile(r"^\s*(\d{1,3})[:：](\d{1,3})(?=\s|$)")


def split_aspect_ratio(text: str) -> tuple[str, str | None]:
    """Return the prompt without its ratio option, and the ratio (or None).

    `--ar 16:9` anywhere, or `16:9` as the first word; raise `UnsupportedAspectRatio` for a
    ratio the model does not offer.
    """
    option = _OPTION.search(text)
    if option:
        ratio = _normalise(option.group(1))
        prompt = (text[: option.start()] + " " + text[option.end() :]).strip()
        return _collapse(prompt), ratio
    leading = _LEADING.match(text)
    if leading:
        ratio = _normalise(f"{leading.group(1)}:{leading.group(2)}")
        return _collapse(text[leading.end() :]), ratio
    return text.strip(), None


def is_blank(text: str) -> bool:
    """Whether `text` has nothing visible: only spaces and format characters (zero-width…)."""
    return all(c.isspace() or unicodedata.category(c) == "Cf" for c in text)


def _normalise(raw: str) -> str:
    match = re.fullmatch(_RATIO, raw)
    ratio = f"{int(match.group(1))}:{int(match.group(2))}" if match else raw
    if ratio not in ASPECT_RATIOS:
        raise UnsupportedAspectRatio(raw, ASPECT_RATIOS)
    return ratio


def _collapse(text: str) -> str:
    return re.sub(r"[ \t]{2,}", " ", text).strip()

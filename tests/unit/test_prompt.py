"""`bot.prompt`: aspect ratios taken out of the prompt; blank prompts."""

from __future__ import annotations

import pytest

from bot.errors import (
    UnsupportedAspectRatio,
)
from bot.prompt import is_blank, split_aspect_ratio


class TestPrompts:
    """Aspect ratios come out of the prompt; the rest of the text stays as typed."""

    @pytest.mark.parametrize(
        ("text", "prompt", "ratio"),
        [
            ("a beach --ar 16:9", "a beach", "16:9"),
            ("--ar=9x16 a tall tower", "a tall tower", "9:16"),
            ("21:9 a canyon", "a canyon", "21:9"),
            ("4：3 a cat", "a cat", "4:3"),
            ("3x3 grid of stickers", "3x3 grid of stickers", None),
            ("2×2 icon sheet", "2×2 icon sheet", None),
            ("a clock at 10:30", "a clock at 10:30", None),
        ],
    )
    def test_ratio(self, text: str, prompt: str, ratio: str | None) -> None:
        """`--ar W:H` anywhere (also W x H), or `W:H` as the first word."""
        assert split_aspect_ratio(text) == (prompt, ratio)

    @pytest.mark.parametrize("text", ["a beach --ar 7:3", "5:3 a field"])
    def test_unsupported_ratio(self, text: str) -> None:
        """A ratio the model does not offer is an error, not part of the prompt."""
        with pytest.raises(UnsupportedAspectRatio):
            split_aspect_ratio(text)

    @pytest.mark.parametrize(
        ("text", "blank"),
        [("", True), ("  \n", True), ("\u200b\u200d\u2060", True), ("👨\u200d👩", False)],
    )
    def test_blank(self, text: str, blank: bool) -> None:
        """Only spaces and invisible format characters make a prompt empty."""
        assert is_blank(text) is blank

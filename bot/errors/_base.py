"""The root of the error tree (see `bot.errors`)."""

from __future__ import annotations


class BotError(Exception):
    """Base class of every error the user may be told about: explained by the sentence
    `text_key`, followed by "nothing was charged" if `nothing_charged`, and not at all in
    groups if `quiet_in_groups`.
    """

    text_key = "internal"
    nothing_charged = False
    quiet_in_groups = False
    offers_packs = False

    def text_values(self, lang: str) -> dict[str, object]:
        """The placeholders of the sentence, in the user's language."""
        return {}

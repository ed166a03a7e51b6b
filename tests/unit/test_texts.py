"""`bot.texts`: both languages say everything."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_text_exists_in_both_languages(lang: str) -> None:
    """Both tables have the same keys and the same placeholders."""
    import string

    from bot.texts.en import EN
    from bot.texts.zh import ZH

    assert EN.keys() == ZH.keys()
    for key in EN:
        fields = [{f for _, f, _, _ in string.Formatter().parse(t[key]) if f} for t in (EN, ZH)]
        assert fields[0] == fields[1], key

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


def test_counts_and_chinese_durations_read_right() -> None:
    """ "1 image", not "1 images"; no stray space before 后 (issue 12)."""
    from bot import texts

    assert texts.images("en", 1) == "1 image" and texts.images("en", 2) == "2 images"
    assert texts.count("en", 1, "request") == "1 request"
    sentence = texts.tr("zh", "quota_exceeded", limit=texts.images("zh", 3), reset="5 分钟")
    assert sentence == "你今天的 3 张图片额度已用完，将在 5 分钟后重置。"

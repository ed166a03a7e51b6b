"""Every sentence the bot says, in English and Chinese.

`tr(lang, key, **values)` picks the language from a Telegram `language_code` (zh* is
Chinese, anything else English) and fills the placeholders. Both tables must have the
same keys and placeholders; a test checks it.
"""

from __future__ import annotations

from bot.texts.en import EN
from bot.texts.zh import ZH

#: Telegram's limit is 4096 UTF-16 code units; keep a margin for the ellipsis.
MAX_TEXT = 4000
#: How much of the model's, or the gateway's, own words is relayed to the user.
RELAYED_TEXT = 1500
RELAYED_ERROR = 300


_TABLES = {"en": EN, "zh": ZH}


def language(code: str | None) -> str:
    """`zh` for any Chinese Telegram language code, else `en`."""
    return "zh" if code and code.lower().startswith("zh") else "en"


def tr(lang: str, key: str, **values: object) -> str:
    """The sentence `key` in `lang` (`en`/`zh` or a raw language code), filled in."""
    table = _TABLES.get(lang) or _TABLES[language(lang)]
    return table[key].format(**values) if values else table[key]


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    """`text` cut to `limit` UTF-16 code units (Telegram's measure), with an ellipsis when cut."""
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    cut = text.encode("utf-16-le")[: (limit - 1) * 2].decode("utf-16-le", "ignore")
    return cut.rstrip() + "…"


def with_nothing_charged(lang: str, sentence: str) -> str:
    """`sentence` followed by "Nothing was charged." (after a blank line if it is long; no
    space after Chinese full-width punctuation)."""
    gap = "\n\n" if "\n" in sentence else "" if sentence.endswith(("。", "！", "？")) else " "
    return f"{sentence}{gap}{tr(lang, 'nothing_charged')}"


def duration(lang: str, seconds: int) -> str:
    """A short human duration: `3 h 12 min` / `3 小时 12 分钟`."""
    hours, minutes = divmod(max(60, seconds) // 60, 60)
    if language(lang) == "zh":
        return f"{hours} 小时 {minutes} 分钟" if hours else f"{minutes} 分钟"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


#: Counted nouns: English singular and plural, and the Chinese measure word with noun.
_NOUNS = {"image": ("image", "images", "张图片"), "request": ("request", "requests", "次请求")}


def count(lang: str, number: int, noun: str) -> str:
    """`1 image` / `20 images` / `20 张图片`: a number of things, its plural right."""
    one, many, zh = _NOUNS[noun]
    if language(lang) == "zh":
        return f"{number} {zh}"
    return f"{number} {one if number == 1 else many}"


def images(lang: str, number: int) -> str:
    """`count(lang, number, "image")`."""
    return count(lang, number, "image")


def money(amount: float) -> str:
    """A cost as recorded (gateway currency units), e.g. `$0.084`."""
    return f"${amount:.3f}".rstrip("0").rstrip(".") if amount else "$0"


def size(nbytes: int) -> str:
    """`12.3 MB` style sizes."""
    if nbytes >= 1024 * 1024:
        return f"{nbytes / 1024 / 1024:.1f} MB"
    return f"{max(1, nbytes // 1024)} KB"

"""The Bot API 10.0 as data (`botapi-10.0.json`, vendored): parameter types and conformance.

Telegram ignores unknown parameters silently, so a misspelt one is a bug nobody sees; this
fake refuses them, and missing required ones, with a 400 and records each in
`FakeTelegram.violations`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.fakes.telegram.records import PARSE_MODE, ApiError, JsonDict

_SPEC = json.loads((Path(__file__).parent / "botapi-10.0.json").read_text(encoding="utf-8"))
#: {method: {parameter: (types, required)}} for every method of the Bot API.
METHODS: dict[str, dict[str, tuple[str, bool]]] = {
    name: {field: (types, required) for field, (types, required) in fields.items()}
    for name, fields in _SPEC["methods"].items()
}
VERSION: str = _SPEC["version"]
#: The emoji a ReactionTypeEmoji may carry.
REACTION_EMOJI: frozenset[str] = frozenset(_SPEC["reaction_emoji"])

_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?\d+(?:\.\d*)?")
_SCALARS = frozenset({"String", "Integer", "Float", "Boolean", "InputFile"})
#: Telegram's own words for a missing required parameter, where it has some.
_MISSING = {
    "chat_id": "Bad Request: chat_id is empty",
    "text": "Bad Request: message text is empty",
    "photo": "Bad Request: there is no photo in the request",
    "document": "Bad Request: there is no document in the request",
}


def coerce(method: str, name: str, value: object) -> object:
    """A form value read as the parameter's Bot API type (JSON objects parsed)."""
    if not isinstance(value, str):
        return value
    types = set(METHODS.get(method, {}).get(name, ("String", False))[0].split(" | "))
    if not types <= _SCALARS:
        try:
            return json.loads(value)
        except ValueError:
            if types & {"String", "InputFile"}:
                return value
            what = "reply keyboard markup" if name == "reply_markup" else name
            raise ApiError(400, f"Bad Request: can't parse {what} JSON object") from None
    if "Integer" in types and _INT_RE.fullmatch(value):
        return int(value)
    if "Float" in types and _FLOAT_RE.fullmatch(value):
        return float(value)
    if "Boolean" in types:
        return value.lower() in ("true", "1", "yes")
    return value


def violations(method: str, names: set[str], params: JsonDict) -> list[tuple[str, str]]:
    """(violation, the 400 description) for each unknown or missing parameter of a call."""
    fields = METHODS.get(method)
    if fields is None:
        return []
    found = [
        (
            f"{method}: unknown parameter {name!r}",
            f'Bad Request: parameter "{name}" is not in {VERSION} {method}',
        )
        for name in sorted(names - fields.keys())
    ]
    for name, (_, required) in fields.items():
        if required and name not in names:
            description = _MISSING.get(name, f'Bad Request: Parameter "{name}" is required')
            found.append((f"{method}: missing required parameter {name!r}", description))
    if "parse_mode" in names:
        found.append((f"{method}: parse_mode {params.get('parse_mode')!r}", PARSE_MODE))
    return found

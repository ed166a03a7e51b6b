"""Reading an error answer: new-api's `{"error": {"message", "type", "code"}}`.

new-api appends " (request id: <id>)" to every message; that id means something only in
the gateway's own log, so it is cut before the message reaches a user or the ledger.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """What an error answer says: new-api's `{"error": {"message", "type", "code"}}`."""

    message: str
    type: str = ""
    code: str = ""

    def says(self, *names: str) -> bool:
        """Whether the error's type or code is one of `names`."""
        return self.type in names or self.code in names


#: new-api ends its error messages with the id of the request in its own log.
_REQUEST_ID = re.compile(r"(?:\s*\(request id: [^)]*\))+\s*$")


def read_error(body: bytes) -> ErrorBody:
    """What an error answer says, without new-api's request id; an excerpt if not JSON."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ErrorBody(body[:200].decode("utf-8", "replace").strip())
    return error_of(doc) if isinstance(doc, dict) else ErrorBody("")


def error_of(doc: dict[str, Any]) -> ErrorBody:
    """The error a decoded answer carries (`error` as an object, a string, or `message`)."""
    error = doc.get("error")
    if not isinstance(error, dict):
        return ErrorBody(str(error or doc.get("message") or ""))
    kind, code = (str(error.get(k) or "") for k in ("type", "code"))
    message = _REQUEST_ID.sub("", str(error.get("message") or "")) or code or kind
    return ErrorBody(message, kind, code)

"""The fake gateway's scripted answers: :class:`Reply` and the functions that build one."""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack

from tests.fakes.images import sniff_mime

if TYPE_CHECKING:
    from .server import FakeGateway, GatewayRequest

DEFAULT_MODEL = "gemini-2.5-flash-image"
#: new-api's usage for one Gemini image (1,290 image tokens).
DEFAULT_USAGE: Mapping[str, Any] = MappingProxyType(
    {
        "prompt_tokens": 10,
        "completion_tokens": 1290,
        "total_tokens": 1300,
        "prompt_tokens_details": {"cached_tokens": 0, "text_tokens": 10, "image_tokens": 0},
        "completion_tokens_details": {"text_tokens": 0, "image_tokens": 1290},
    }
)
_BLOCKED_USAGE = MappingProxyType({"prompt_tokens": 10, "completion_tokens": 0, "total_tokens": 10})

_completion_ids = itertools.count(1)
_BLOB = "@@FAKEGW-BLOB-{}@@"  # where _dump splices in blob {}
_BLOB_RE = re.compile(rb"@@FAKEGW-BLOB-(\d+)@@")
REQUEST_ID = "@@FAKEGW-REQUEST-ID@@"  # in an error body: replaced by the request's id


@dataclass(frozen=True, eq=False, repr=False)
class Reply:
    """One scripted gateway answer. Build it with the module-level constructors."""

    kind: Literal["answer", "hang", "reset", "trickle"]
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    #: Builds the body when served (markdown: registers its images as fresh files).
    render: Callable[[FakeGateway, GatewayRequest], bytes] | None = None
    #: The body holds the REQUEST_ID placeholder, replaced by the request's id when served.
    stamped: bool = False
    #: For kind == "reset": how many body bytes are sent before the connection is closed.
    partial: int = 0
    #: For kind == "trickle": the body is spread over that many seconds, in chunks of
    #: ``chunk_size`` bytes (by default 20 chunks a second).
    trickle: float = 0.0
    chunk_size: int | None = None
    description: str = ""

    def __repr__(self) -> str:
        return f"<Reply {self.description or self.kind}>"

    def delayed(self, seconds: float) -> Reply:
        """Return a copy of this reply that waits ``seconds`` before answering."""
        return replace(self, delay=seconds)


class AnswerOptions(TypedDict, total=False):
    """Keyword options of every chat-completion answer."""

    delay: float  # seconds before answering (default 0)
    usage: Mapping[str, Any] | None  # DEFAULT_USAGE by default; None leaves ``usage`` out
    model: str  # DEFAULT_MODEL by default
    finish_reason: str | None  # "stop" by default


def _completion(message: Mapping[str, Any], opts: AnswerOptions) -> dict[str, Any]:
    """An OpenAI chat.completion object around one assistant message."""
    choice = {"index": 0, "message": {"role": "assistant", **message}}
    out: dict[str, Any] = {
        "id": f"chatcmpl-fake{next(_completion_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": opts.get("model", DEFAULT_MODEL),
        "choices": [{**choice, "finish_reason": opts.get("finish_reason", "stop")}],
    }
    if (usage := opts.get("usage", DEFAULT_USAGE)) is not None:
        out["usage"] = dict(usage)
    return out


def _dump(obj: Any, blobs: Sequence[bytes] = ()) -> bytes:
    """JSON-encode ``obj``, splicing raw ``blobs`` (JSON-safe bytes) in place of placeholders.

    The blobs (data URLs: ASCII without quotes or backslashes) are joined in one pass, so a
    27 MB body is never built as a Python string nor re-encoded.
    """
    encoded = json.dumps(obj, ensure_ascii=False).encode()
    if not blobs:
        return encoded
    parts = _BLOB_RE.split(encoded)
    return b"".join(blobs[int(p)] if i % 2 else p for i, p in enumerate(parts))


def _data_url(image: bytes, mime: str | None = None) -> bytes:
    """``data:<mime>;base64,<...>`` as bytes (the MIME type sniffed when not given)."""
    return f"data:{mime or sniff_mime(image)};base64,".encode() + base64.b64encode(image)


def _links(text: str, urls: Iterable[str]) -> str:
    """``text`` followed by `` ![image](url)`` per URL."""
    return text + "".join(f" ![image]({u})" for u in urls)


def _answer(
    message: Mapping[str, Any], opts: AnswerOptions, description: str, blobs: Sequence[bytes] = ()
) -> Reply:
    """A 200 chat completion built now (blobs spliced in where ``message`` has placeholders)."""
    body = _dump(_completion(message, opts), blobs)
    return Reply("answer", body=body, delay=opts.get("delay", 0.0), description=description)


def gemini_parts(*parts: str | bytes, **opts: Unpack[AnswerOptions]) -> Reply:
    """new-api's answer for Gemini's ``parts``: joined by ``"\\n"``, text as it is, each image
    (bytes) as ``![image](data:<sniffed MIME>;base64,...)``."""
    images = [p for p in parts if isinstance(p, bytes)]
    index = itertools.count()
    content = "\n".join(
        p if isinstance(p, str) else f"![image]({_BLOB.format(next(index))})" for p in parts
    )
    blobs = [_data_url(image) for image in images]
    return _answer({"content": content}, opts, f"gemini_parts({len(parts)} part(s))", blobs)


def data_url(
    image: bytes,
    mime: str = "image/png",
    *,
    in_markdown: bool = True,
    text: str = "",
    **opts: Unpack[AnswerOptions],
) -> Reply:
    """Answer with the image inline: ``text + "![image](data:...)"`` or the bare data URL."""
    content = f"{text}![image]({_BLOB.format(0)})" if in_markdown else text + _BLOB.format(0)
    about = f"data_url({mime}, {len(image)} bytes, in_markdown={in_markdown})"
    return _answer({"content": content}, opts, about, [_data_url(image, mime)])


def text(content: str | None, **opts: Unpack[AnswerOptions]) -> Reply:
    """Answer with assistant text and no image (a refusal or a question)."""
    return _answer({"content": content}, opts, f"text({content!r:.40})")


def safety_block(**opts: Unpack[AnswerOptions]) -> Reply:
    """Gemini stopped for safety (SAFETY, IMAGE_SAFETY, PROHIBITED_CONTENT, ... any reason but
    STOP or MAX_TOKENS): new-api answers 200, empty content, finish_reason ``content_filter``."""
    options: AnswerOptions = {"usage": _BLOCKED_USAGE, "finish_reason": "content_filter"}
    return _answer({"content": ""}, options | opts, "safety_block()")


def markdown(
    *images: bytes, text: str = "Here is your image", **opts: Unpack[AnswerOptions]
) -> Reply:
    """Answer ``text + " ![image](url)"`` per image; each image is served at a fresh
    ``/files/<id>`` URL (with a sniffed Content-Type) each time the reply is used."""

    def render(gw: FakeGateway, req: GatewayRequest) -> bytes:
        urls = [gw.add_file(image, content_type=sniff_mime(image)) for image in images]
        req.file_urls.extend(urls)
        return _dump(_completion({"content": _links(text, urls)}, opts))

    about = f"markdown({len(images)} image(s))"
    return Reply("answer", render=render, delay=opts.get("delay", 0.0), description=about)


def markdown_urls(
    *urls: str, text: str = "Here is your image", **opts: Unpack[AnswerOptions]
) -> Reply:
    """Answer ``text + " ![image](url)"`` for each of the given exact URLs."""
    return _answer({"content": _links(text, urls)}, opts, f"markdown_urls({', '.join(urls)})")


def images_field(*images: bytes, content: str | None = "", **opts: Unpack[AnswerOptions]) -> Reply:
    """Answer OpenRouter style: ``message.images`` holds one data URL per image."""
    refs = [
        {"type": "image_url", "image_url": {"url": _BLOB.format(i)}} for i in range(len(images))
    ]
    blobs = [_data_url(image) for image in images]
    about = f"images_field({len(images)} image(s))"
    return _answer({"content": content, "images": refs}, opts, about, blobs)


def _error(
    status: int,
    message: str,
    type_: str,
    code: str | int | None,
    *,
    relayed: bool = True,
    request_id: bool = True,
    headers: tuple[tuple[str, str], ...] = (),
    delay: float = 0.0,
) -> Reply:
    """new-api's error body; only the relay's errors carry ``"param": ""``, not its middleware's."""
    full = f"{message} (request id: {REQUEST_ID})" if request_id else message
    body = {"message": full, "type": type_} | ({"param": ""} if relayed else {}) | {"code": code}
    return Reply(
        "answer",
        status=status,
        body=_dump({"error": body}),
        headers=headers,
        delay=delay,
        stamped=request_id,
        description=f"error({status}, {message!r:.60})",
    )


def error(
    status: int,
    message: str = "upstream error",
    *,
    type: str = "upstream_error",
    code: str | int | None = None,
    retry_after: float | None = None,
    delay: float = 0.0,
    request_id: bool = True,
) -> Reply:
    """Answer ``status`` with new-api's error body; ``Retry-After`` is sent when given.

    ``request_id=False`` gives the message without the ``" (request id: ...)"`` suffix.
    """
    headers: tuple[tuple[str, str], ...] = ()
    if retry_after is not None:
        value = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
        headers = (("Retry-After", value),)
    return _error(status, message, type, code, headers=headers, delay=delay, request_id=request_id)


def prompt_blocked(reason: str = "PROHIBITED_CONTENT") -> Reply:
    """Gemini refused the prompt itself (``promptFeedback.blockReason``): 400 ``prompt_blocked``."""
    message = f"request blocked by Gemini API: {reason}"
    return _error(400, message, "prompt_blocked", "prompt_blocked")


def empty_response() -> Reply:
    """Gemini answered no candidate and no block reason: 500 ``empty_response``."""
    message = "empty response from Gemini API"
    return _error(500, message, "empty_response", "empty_response")


def balance_spent(remaining: str = "＄0.012000") -> Reply:
    """The operator's balance is spent: 403 ``insufficient_user_quota``, in Chinese."""
    message = f"用户额度不足, 剩余额度: {remaining}"
    return _error(403, message, "new_api_error", "insufficient_user_quota")


def token_quota_spent(remaining: str = "＄0.001000", need: str = "＄0.039000") -> Reply:
    """The key's own quota is spent: 403 ``pre_consume_token_quota_failed``."""
    message = f"token quota is not enough, token remain quota: {remaining}, need quota: {need}"
    return _error(403, message, "new_api_error", "pre_consume_token_quota_failed")


def invalid_key() -> Reply:
    """The key is unknown, disabled or missing: 401, also the fake's own answer to a wrong key."""
    return _error(401, "Invalid token", "new_api_error", "", relayed=False)


def model_forbidden(model: str = DEFAULT_MODEL) -> Reply:
    """The key may not use ``model``: 403."""
    message = f"This token has no access to model {model}"
    return _error(403, message, "new_api_error", "", relayed=False)


def model_not_found(model: str = DEFAULT_MODEL, group: str = "default") -> Reply:
    """No channel serves ``model`` in ``group``: 503 ``model_not_found``."""
    message = f"No available channel for model {model} under group {group} (distributor)"
    return _error(503, message, "new_api_error", "model_not_found", relayed=False)


def raw(
    body: bytes,
    status: int = 200,
    content_type: str = "application/json",
    *,
    headers: Mapping[str, str] | None = None,
    delay: float = 0.0,
) -> Reply:
    """Answer arbitrary bytes with any status and Content-Type."""
    about = f"raw({status}, {content_type}, {len(body)} bytes)"
    pairs = tuple((headers or {}).items())
    return Reply("answer", status, body, content_type, pairs, delay, description=about)


def hang(*, delay: float = 0.0) -> Reply:
    """Never answer: wait until the client disconnects or the server stops."""
    return Reply("hang", delay=delay, description="hang()")


def reset(*, delay: float = 0.0, sent_fraction: float = 0.5) -> Reply:
    """Send headers (full Content-Length) and part of a completion body, then close."""
    content = "Here is your image ![image](https://example.invalid/x.png)"
    body = _dump(_completion({"content": content}, {}))
    cut = max(1, min(len(body) - 1, int(len(body) * sent_fraction)))
    return Reply("reset", body=body, partial=cut, delay=delay, description="reset()")

"""A fake OpenAI-compatible image gateway: a real aiohttp server on 127.0.0.1.

Usage::

    async with FakeGateway(api_key="test-key") as gw:
        gw.enqueue(markdown(png(), delay=0.5), error(429, retry_after=3))
        ...  # point the bot at gw.url
        [req] = await gw.wait_for_requests(1)
        assert req.prompt == "a corgi"

Routes:

* ``POST /v1/chat/completions`` (exact path; ``//v1/...`` answers a JSON 404) - checks
  ``Authorization: Bearer <api_key>`` (401 otherwise), parses the JSON body (400 otherwise),
  records a :class:`GatewayRequest`, then answers with the next :class:`Reply`: the one chosen by
  ``gw.responder`` if set (and it returns non-None), else the next one from the FIFO filled by
  ``gw.enqueue()``, else ``gw.default`` (a markdown link to a fresh 256x256 PNG).
* ``GET /files/<name>`` - images registered by :meth:`FakeGateway.add_file`, by markdown replies,
  and redirects from :meth:`FakeGateway.add_redirect`. Hits are counted in ``gw.file_hits``.
* Anything else - a JSON 404 / 405 in the gateway's error format.

Answer forms (module-level factories; all take ``delay=`` seconds to wait before answering):

* :func:`markdown` - ``"Here is your image ![image](http://127.0.0.1:PORT/files/i1.png)"``, one
  link per image, each image served by the fake with a sniffed Content-Type.
* :func:`markdown_urls` - markdown links to arbitrary URLs (404 paths, ``file://``...).
* :func:`data_url` - ``"![image](data:image/png;base64,...)"`` (or the bare data URL); the
  body is composed once as bytes, so multi-megabyte images stay cheap to serve.
* :func:`images_field` - OpenRouter style ``message.images = [{"type": "image_url", ...}]``.
* :func:`text` - a plain assistant answer with no image (refusal, question).
* :func:`error` - ``{"error": {"message", "type", "code"}}`` with any status, optional
  ``Retry-After``.
* :func:`raw` - any bytes with any status / content type (malformed JSON, HTML error pages...).
* :func:`hang` - never answers; returns when the client disconnects or the server stops.
* :func:`reset` - status line, headers with a Content-Length, part of the body, then the
  connection is closed.

Success answers are OpenAI chat completions with a ``usage`` object (``usage=None`` omits it).

new-api's own forms: :func:`gemini_parts` (Gemini's parts joined by ``"\\n"``, images as data
URLs) and :func:`safety_block` (200, empty, ``content_filter``); its errors
:func:`prompt_blocked`, :func:`empty_response`, :func:`balance_spent`,
:func:`token_quota_spent`, :func:`invalid_key`, :func:`model_forbidden` and
:func:`model_not_found` (delay them with ``reply.delayed(seconds)``). Every error body built here
is ``{"error": {"message", "type", "param": "", "code"}}`` (no ``param`` for new-api's
middleware refusals) and its message ends with ``" (request id: <id>)"``, the id of the
request it answers, also sent as ``X-Oneapi-Request-Id`` on every answer;
``error(..., request_id=False)`` leaves the suffix off.
"""

from tests.fakes.images import sniff_mime

from .replies import (
    DEFAULT_MODEL,
    DEFAULT_USAGE,
    AnswerOptions,
    Reply,
    balance_spent,
    data_url,
    empty_response,
    error,
    gemini_parts,
    hang,
    images_field,
    invalid_key,
    markdown,
    markdown_urls,
    model_forbidden,
    model_not_found,
    prompt_blocked,
    raw,
    reset,
    safety_block,
    text,
    token_quota_spent,
)
from .server import COMPLETIONS_PATH, FakeGateway, GatewayRequest

__all__ = [
    "COMPLETIONS_PATH",
    "DEFAULT_MODEL",
    "DEFAULT_USAGE",
    "AnswerOptions",
    "FakeGateway",
    "GatewayRequest",
    "Reply",
    "balance_spent",
    "data_url",
    "empty_response",
    "error",
    "gemini_parts",
    "hang",
    "images_field",
    "invalid_key",
    "markdown",
    "markdown_urls",
    "model_forbidden",
    "model_not_found",
    "prompt_blocked",
    "raw",
    "reset",
    "safety_block",
    "sniff_mime",
    "text",
    "token_quota_spent",
]

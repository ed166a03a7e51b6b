"""A fake new-api image gateway: a real aiohttp server on 127.0.0.1 at a free port.

It stands in for QuantumNous/new-api relaying Gemini image models through the OpenAI chat
completions API (facts in /work/shared/reference/README.md, section "new-api")::

    async with FakeGateway(api_key="test-key") as gw:
        gw.enqueue(gemini_parts("Here you go", png()), prompt_blocked("SAFETY"))
        ...  # point the bot at gw.url
        [req] = await gw.wait_for_requests(1)
        assert req.prompt == "a corgi"

What it emulates:

* ``POST /v1/chat/completions`` (exact path), each call recorded first as a
  :class:`GatewayRequest` in ``gw.requests``. new-api's own checks come next, in its order: a
  key other than ``Bearer <api_key>`` gets 401 (:func:`invalid_key`), a body over
  ``max_request_bytes`` 413, a body that is not JSON or names no model 400, and with
  ``check_models=True`` a model missing from ``gw.models`` 503 (:func:`model_not_found`). A call
  that passes gets the next :class:`Reply`: ``gw.responder(req)`` if set and not None, else the
  FIFO filled by ``gw.enqueue()``, else ``gw.default`` (a markdown link to a fresh 256x256 PNG).
* ``GET /v1/models``: the same key check, then ``{"object": "list", "data": [{"id": ...,
  "object": "model", "owned_by": "custom", ...}]}`` for ``gw.models`` (by default
  :data:`DEFAULT_MODELS`; calls recorded in ``gw.listings``).
* Request ids (``<UTC time><nanoseconds><8 letters or digits>``): every answer carries an
  ``X-Oneapi-Request-Id`` header and every error body the fake builds ends its message with
  ``" (request id: <that id>)"`` (``error(..., request_id=False)`` leaves it off). new-api adds
  it to its own errors; some versions relay upstream errors (``prompt_blocked``,
  ``empty_response``, Gemini's 4xx/5xx) without it, so the bot should rely on neither form.
* Error bodies ``{"error": {"message", "type", "param": "", "code"}}`` with the upstream status;
  the refusals of new-api's middleware (key, model, no channel) have no ``param``.
* No route: a path under ``/v1`` or ``/api`` (or a wrong method) gets new-api's JSON 404
  ``Invalid URL (<METHOD> <path>)``, without a request id; any other path, ``//v1/...``
  included, its dashboard page (HTML, 200), as new-api's web router answers.

Answers (module-level constructors; any reply waits ``reply.delayed(seconds)`` before answering,
and the older constructors also take ``delay=``; completions take ``usage=`` (None omits it),
``model=`` and ``finish_reason=``, see :class:`AnswerOptions`):

* new-api's forms: :func:`gemini_parts` (Gemini's parts joined by ``"\\n"``, images as
  ``![image](data:...)``), :func:`data_url`, :func:`text`, :func:`safety_block` (200, empty,
  ``content_filter``); errors :func:`error` (any status, optional ``Retry-After``),
  :func:`prompt_blocked`, :func:`empty_response`, :func:`balance_spent`,
  :func:`token_quota_spent`, :func:`invalid_key`, :func:`model_forbidden`, :func:`model_not_found`.
* other gateways' forms and breakage: :func:`markdown` (links to images the fake serves, the
  seed reseller's form), :func:`markdown_urls` (links to any URL), :func:`images_field`
  (OpenRouter's ``message.images``), :func:`raw` (any bytes), :func:`hang` (never answers),
  :func:`reset` (headers and half a body, then the connection is closed).

``GET /files/<name>`` is not new-api but the image host markdown links point at: files from
:meth:`FakeGateway.add_file`, :meth:`FakeGateway.add_redirect` and :func:`markdown` replies,
hits counted in ``gw.file_hits``.

What it does not emulate: streaming (``"stream": true`` gets the same non-stream answer), other
endpoints (``/v1/images/generations``...), Gemini itself (answers are scripted, whatever the
prompt), billing (quota errors only when scripted), rate limits, channel retries, model mapping,
groups, key formats (``sk-`` prefix, ``-<channel>`` suffix) and gzip. Messages follow new-api's
English locale of one version; the wording differs across versions and languages.

Layout: :mod:`.replies` builds the answers, :mod:`.server` serves them and records requests.
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
from .server import COMPLETIONS_PATH, DEFAULT_MODELS, MODELS_PATH, FakeGateway, GatewayRequest

__all__ = [
    "COMPLETIONS_PATH",
    "DEFAULT_MODEL",
    "DEFAULT_MODELS",
    "DEFAULT_USAGE",
    "MODELS_PATH",
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

"""Self-tests for the fake image gateway, driven with plain httpx."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image

from bot.config import Settings
from tests.fakes import images
from tests.fakes.gateway import (
    DEFAULT_MODELS,
    FakeGateway,
    GatewayRequest,
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

KEY = "test-key"
LINK = re.compile(r"!\[image\]\(([^)]+)\)")
REQUEST_ID = re.compile(r"\d{14}\d{1,9}[A-Za-z0-9]{8}")  # new-api's: time, nanoseconds, random


@pytest.fixture
async def gw() -> AsyncIterator[FakeGateway]:
    async with FakeGateway(api_key=KEY) as gateway:
        yield gateway


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as c:
        yield c


def body(prompt: str = "a corgi", **extra: Any) -> dict[str, Any]:
    return {
        "model": "gemini-2.5-flash-image",
        "group": "default",
        "stream": False,
        "messages": [{"role": "user", "content": prompt}],
        **extra,
    }


async def post(
    client: httpx.AsyncClient,
    gw: FakeGateway,
    payload: Any = None,
    *,
    key: str = KEY,
    path: str = "/v1/chat/completions",
    read_timeout: float | None = None,
) -> httpx.Response:
    kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {key}"}}
    if read_timeout is not None:
        kwargs["timeout"] = read_timeout
    return await client.post(gw.url + path, json=payload or body(), **kwargs)


def content_of(resp: httpx.Response) -> Any:
    return resp.json()["choices"][0]["message"]["content"]


async def test_default_is_markdown_link_to_png(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    resp = await post(client, gw)
    assert resp.status_code == 200
    data = resp.json()
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"]["total_tokens"] == 1300
    [url] = LINK.findall(content_of(resp))
    assert url.startswith(gw.url + "/files/") and url.endswith(".png")
    img = await client.get(url)
    assert img.status_code == 200
    assert img.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(img.content)).size == (256, 256)
    assert gw.file_hits[url.removeprefix(gw.url)] == 1
    # A second default answer links to a fresh URL.
    [url2] = LINK.findall(content_of(await post(client, gw)))
    assert url2 != url


async def test_markdown_several_images_and_jpeg_sniffing(
    gw: FakeGateway, client: httpx.AsyncClient
) -> None:
    gw.enqueue(markdown(images.png(seed=1), images.jpeg(32, 32), text="Two"))
    resp = await post(client, gw)
    content = content_of(resp)
    assert content.startswith("Two ![image](")
    png_url, jpg_url = LINK.findall(content)
    assert jpg_url.endswith(".jpg")
    assert (await client.get(png_url)).content == images.png(seed=1)
    got = await client.get(jpg_url)
    assert got.headers["content-type"] == "image/jpeg"
    assert got.content == images.jpeg(32, 32)
    assert gw.requests[0].file_urls == [png_url, jpg_url]


async def test_markdown_urls_text_and_usage_none(
    gw: FakeGateway, client: httpx.AsyncClient
) -> None:
    gw.enqueue(
        markdown_urls(gw.url + "/files/missing.png", "file:///etc/passwd"),
        text("Which corgi do you mean?", usage=None),
    )
    links = LINK.findall(content_of(await post(client, gw)))
    assert links == [gw.url + "/files/missing.png", "file:///etc/passwd"]
    missing = await client.get(links[0])
    assert missing.status_code == 404
    assert "error" in missing.json()
    resp = await post(client, gw)
    assert content_of(resp) == "Which corgi do you mean?"
    assert "usage" not in resp.json()
    assert gw.pending == 0


async def test_data_url_bare_and_in_markdown(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    img = images.webp(40, 30)
    gw.enqueue(data_url(img, "image/webp"), data_url(img, in_markdown=False))
    [url] = LINK.findall(content_of(await post(client, gw)))
    assert url.startswith("data:image/webp;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == img
    bare = content_of(await post(client, gw))
    assert bare.startswith("data:image/png;base64,")
    assert base64.b64decode(bare.split(",", 1)[1]) == img


async def test_data_url_big_png_round_trips(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    big = images.big_png(12_000_000)
    assert len(big) >= 12_000_000
    assert Image.open(io.BytesIO(big)).format == "PNG"
    gw.enqueue(data_url(big))
    resp = await post(client, gw)
    [url] = LINK.findall(json.loads(resp.content)["choices"][0]["message"]["content"])
    assert base64.b64decode(url.removeprefix("data:image/png;base64,")) == big


async def test_images_field(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    a, b = images.png(seed=3), images.gif()
    gw.enqueue(images_field(a, b, content=None), images_field(a, content="Here you go"))
    message = (await post(client, gw)).json()["choices"][0]["message"]
    assert message["content"] is None
    urls = [i["image_url"]["url"] for i in message["images"]]
    assert [i["type"] for i in message["images"]] == ["image_url", "image_url"]
    assert urls[0].startswith("data:image/png;base64,")
    assert urls[1].startswith("data:image/gif;base64,")
    assert [base64.b64decode(u.split(",", 1)[1]) for u in urls] == [a, b]
    message = (await post(client, gw)).json()["choices"][0]["message"]
    assert message["content"] == "Here you go"
    assert len(message["images"]) == 1


async def test_error_with_retry_after(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    gw.enqueue(
        error(429, "slow down", type="rate_limit", code="rate_limited", retry_after=3),
        error(503, "busy"),
    )
    resp = await post(client, gw)
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "3"
    request_id = resp.headers["x-oneapi-request-id"]
    assert resp.json() == {
        "error": {
            "message": f"slow down (request id: {request_id})",
            "type": "rate_limit",
            "param": "",
            "code": "rate_limited",
        }
    }
    resp = await post(client, gw)
    assert resp.status_code == 503
    assert "retry-after" not in resp.headers
    assert resp.json()["error"]["type"] == "upstream_error"


async def test_raw_bodies(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    gw.enqueue(
        raw(b'{"choices": [', status=200),
        raw(b'{"choices": []}'),
        raw(b"<html>Bad gateway</html>", status=502, content_type="text/html"),
    )
    resp = await post(client, gw)
    with pytest.raises(json.JSONDecodeError):
        resp.json()
    assert (await post(client, gw)).json() == {"choices": []}
    resp = await post(client, gw)
    assert resp.status_code == 502
    assert resp.headers["content-type"].startswith("text/html")


async def test_wrong_or_missing_key_is_401(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    gw.enqueue(text("never used"))
    resp = await post(client, gw, key="nope")
    assert resp.status_code == 401
    assert resp.json()["error"] == {
        "message": f"Invalid token (request id: {gw.requests[0].request_id})",
        "type": "new_api_error",
        "code": "",
    }
    resp = await client.post(gw.completions_url, json=body())
    assert resp.status_code == 401
    assert len(gw.requests) == 2
    assert gw.requests[0].status == 401
    assert gw.pending == 1


async def test_non_json_body_is_400(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    resp = await client.post(
        gw.completions_url, content=b"not json", headers={"Authorization": f"Bearer {KEY}"}
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["message"].startswith("Invalid request: invalid JSON")
    assert gw.requests[0].body is None


async def test_unrouted_paths_answer_like_new_api(
    gw: FakeGateway, client: httpx.AsyncClient
) -> None:
    """Under /v1 (or a wrong method): JSON 404; elsewhere, //v1 included: the HTML dashboard."""
    for method, path in [("GET", "/v1/chat/completions"), ("POST", "/v1/chat/completion")]:
        resp = await client.request(method, gw.url + path, json=body())
        assert resp.status_code == 404
        assert resp.json() == {
            "error": {
                "message": f"Invalid URL ({method} {path})",
                "type": "invalid_request_error",
                "param": "",
                "code": "",
            }
        }
    for path in ["//v1/chat/completions", "/chat/completions"]:
        resp = await post(client, gw, path=path)
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/html")
        assert REQUEST_ID.fullmatch(resp.headers["x-oneapi-request-id"])
    assert gw.requests == []


async def test_reset_breaks_the_response(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    gw.enqueue(reset())
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        await post(client, gw)
    # The server keeps working afterwards.
    assert (await post(client, gw)).status_code == 200


async def test_hang_times_out_and_does_not_block_stop(client: httpx.AsyncClient) -> None:
    gw = await FakeGateway(api_key=KEY).start()
    gw.enqueue(hang(), hang())
    with pytest.raises(httpx.ReadTimeout):
        await post(client, gw, read_timeout=0.5)
    pending = asyncio.create_task(post(client, gw))
    await gw.wait_for_requests(2)
    started = time.monotonic()
    await gw.stop()
    assert time.monotonic() - started < 1.5
    with pytest.raises(httpx.TransportError):
        await pending


async def test_delay_and_concurrency(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    gw.default = text("ok", delay=0.5)
    started = time.monotonic()
    responses = await asyncio.gather(*(post(client, gw, body(f"p{i}")) for i in range(50)))
    assert all(r.status_code == 200 for r in responses)
    assert 0.5 <= time.monotonic() - started < 3
    assert sorted(r.prompt for r in gw.requests) == sorted(f"p{i}" for i in range(50))


async def test_responder_decides_by_prompt(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    def responder(req: GatewayRequest) -> Reply | None:
        return error(400, "blocked", code="content_policy") if "nsfw" in req.prompt else None

    gw.responder = responder
    gw.enqueue(text("queued"))
    assert (await post(client, gw, body("nsfw thing"))).status_code == 400
    assert content_of(await post(client, gw, body("fine"))) == "queued"
    assert (await post(client, gw, body("fine"))).status_code == 200  # default


async def test_recorded_request_helpers(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    first, second = images.jpeg(20, 20), images.png(seed=7)
    parts = [
        {"type": "text", "text": "put the cat"},
        {
            "type": "image_url",
            "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(first).decode()},
        },
        {"type": "text", "text": "on the sofa"},
        {
            "type": "image_url",
            "image_url": {"url": "data:image/png;base64," + base64.b64encode(second).decode()},
        },
    ]
    payload = body(extra_body={"google": {"image_config": {"aspect_ratio": "16:9"}}})
    payload["messages"] = [{"role": "user", "content": parts}]
    before = time.monotonic()
    await post(client, gw, payload)
    [req] = await gw.wait_for_requests(1)
    assert req.prompt == "put the cat\non the sofa"
    assert req.images == [first, second]
    assert req.image_mimes == ["image/jpeg", "image/png"]
    assert req.model == "gemini-2.5-flash-image"
    assert req.aspect_ratio == "16:9"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert before <= req.at <= time.monotonic()
    assert req.body["group"] == "default"
    await post(client, gw)
    assert gw.last_request.aspect_ratio is None
    assert gw.last_request.images == []


async def test_wait_for_requests_times_out_with_summary(gw: FakeGateway) -> None:
    with pytest.raises(AssertionError, match="expected 1 gateway request"):
        await gw.wait_for_requests(1, timeout=0.1)


async def test_trickle_file_read_timeout(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    data = images.png(128, 128)
    slow = gw.add_file(data, trickle=2, chunk_size=len(data) // 2 + 1)
    with pytest.raises(httpx.ReadTimeout):
        await client.get(slow, timeout=httpx.Timeout(5, read=0.3))
    # Default chunking keeps each gap short: it downloads fine, just slowly.
    steady = gw.add_file(data, trickle=0.3)
    started = time.monotonic()
    resp = await client.get(steady, timeout=httpx.Timeout(5, read=0.2))
    assert resp.content == data
    assert time.monotonic() - started >= 0.25


async def test_add_file_status_and_redirect(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    gone = gw.add_file(b"nope", content_type="text/plain", status=404)
    assert (await client.get(gone)).status_code == 404
    target = "file:///etc/passwd"
    redirect = gw.add_redirect(target)
    resp = await client.get(redirect)
    assert resp.status_code == 302
    assert resp.headers["location"] == target
    assert gw.file_hits[redirect.removeprefix(gw.url)] == 1


# -- new-api's answers -------------------------------------------------------------------------


async def test_gemini_parts_are_joined_by_newlines(
    gw: FakeGateway, client: httpx.AsyncClient
) -> None:
    first, second = images.png(seed=4), images.jpeg(24, 24)
    gw.enqueue(gemini_parts("Here you go", first, second), gemini_parts(first))
    text_part, *links = content_of(await post(client, gw)).split("\n")
    assert text_part == "Here you go"
    assert [LINK.fullmatch(link) is not None for link in links] == [True, True]
    urls = [LINK.findall(link)[0] for link in links]
    assert urls[0].startswith("data:image/png;base64,")
    assert urls[1].startswith("data:image/jpeg;base64,")
    assert [base64.b64decode(u.split(",", 1)[1]) for u in urls] == [first, second]
    [only] = LINK.findall(content_of(await post(client, gw)))
    assert base64.b64decode(only.split(",", 1)[1]) == first


async def test_safety_block_is_an_empty_content_filter(
    gw: FakeGateway, client: httpx.AsyncClient
) -> None:
    gw.enqueue(safety_block(), safety_block(model="gemini-3-pro-image-preview", usage=None))
    data = (await post(client, gw)).json()
    assert data["choices"][0]["message"] == {"role": "assistant", "content": ""}
    assert data["choices"][0]["finish_reason"] == "content_filter"
    assert data["usage"]["completion_tokens"] == 0
    resp = await post(client, gw)
    assert resp.status_code == 200
    assert resp.json()["model"] == "gemini-3-pro-image-preview"
    assert "usage" not in resp.json()


@pytest.mark.parametrize(
    ("reply", "status", "type_", "code", "param", "message"),
    [
        (prompt_blocked("SAFETY"), 400, "prompt_blocked", "prompt_blocked", True,
         "request blocked by Gemini API: SAFETY"),
        (empty_response(), 500, "empty_response", "empty_response", True,
         "empty response from Gemini API"),
        (balance_spent(), 403, "new_api_error", "insufficient_user_quota", True,
         "用户额度不足, 剩余额度: ＄0.012000"),
        (token_quota_spent("＄0.000100", "＄0.040000"), 403, "new_api_error",
         "pre_consume_token_quota_failed", True,
         "token quota is not enough, token remain quota: ＄0.000100, need quota: ＄0.040000"),
        (invalid_key(), 401, "new_api_error", "", False, "Invalid token"),
        (model_forbidden("gemini-2.5-flash-image-hd"), 403, "new_api_error", "", False,
         "This token has no access to model gemini-2.5-flash-image-hd"),
        (model_not_found("nano", "vip"), 503, "new_api_error", "model_not_found", False,
         "No available channel for model nano under group vip (distributor)"),
        (error(502, "bad gateway"), 502, "upstream_error", None, True, "bad gateway"),
    ],
)  # fmt: skip
async def test_new_api_errors(
    gw: FakeGateway,
    client: httpx.AsyncClient,
    reply: Reply,
    status: int,
    type_: str,
    code: str | None,
    param: bool,
    message: str,
) -> None:
    """Status, type, code and message as new-api sends them, the message with a request id;
    ``param`` only from the relay, not from new-api's middleware."""
    gw.default = reply
    first, second = await post(client, gw), await post(client, gw)
    assert first.status_code == status
    err = first.json()["error"]
    assert (err["type"], err["code"], err.get("param")) == (type_, code, "" if param else None)
    request_id = first.headers["x-oneapi-request-id"]
    assert REQUEST_ID.fullmatch(request_id)
    assert err["message"] == f"{message} (request id: {request_id})"
    assert gw.requests[0].request_id == request_id
    # The same reply served again carries that request's own id.
    again = second.json()["error"]["message"]
    assert again == f"{message} (request id: {gw.requests[1].request_id})"
    assert gw.requests[0].request_id != gw.requests[1].request_id


async def test_error_without_request_id(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    gw.enqueue(error(400, "bad things", request_id=False), prompt_blocked().delayed(0.3))
    resp = await post(client, gw)
    assert resp.json()["error"]["message"] == "bad things"
    assert REQUEST_ID.fullmatch(resp.headers["x-oneapi-request-id"])  # the header stays
    started = time.monotonic()
    assert (await post(client, gw)).status_code == 400
    assert time.monotonic() - started >= 0.3


async def test_models_lists_the_configured_models(client: httpx.AsyncClient) -> None:
    bot_models = {Settings.model_fields[f].default for f in ("image_model", "image_model_hd")}
    assert bot_models | {"gemini-3-pro-image-preview"} <= set(DEFAULT_MODELS)
    async with FakeGateway(api_key=KEY) as gw:
        resp = await client.get(gw.models_url, headers={"Authorization": f"Bearer {KEY}"})
        assert resp.status_code == 200
        listing = resp.json()
        assert listing["object"] == "list"
        assert [m["id"] for m in listing["data"]] == list(DEFAULT_MODELS)
        assert {m["object"] for m in listing["data"]} == {"model"}
        assert all(isinstance(m["owned_by"], str) for m in listing["data"])
        gw.models.append("gemini-2.0-flash")
        resp = await client.get(gw.models_url, headers={"Authorization": f"Bearer {KEY}"})
        assert resp.json()["data"][-1]["id"] == "gemini-2.0-flash"
        assert gw.requests == [] and len(gw.listings) == 2
    async with FakeGateway(api_key=KEY, models=["only-this"]) as gw:
        resp = await client.get(gw.models_url, headers={"Authorization": f"Bearer {KEY}"})
        assert [m["id"] for m in resp.json()["data"]] == ["only-this"]


async def test_models_checks_the_key(gw: FakeGateway, client: httpx.AsyncClient) -> None:
    for headers in ({"Authorization": "Bearer nope"}, {}):
        resp = await client.get(gw.models_url, headers=headers)
        assert resp.status_code == 401
        request_id = resp.headers["x-oneapi-request-id"]
        assert resp.json() == {
            "error": {
                "message": f"Invalid token (request id: {request_id})",
                "type": "new_api_error",
                "code": "",
            }
        }
    assert [r.status for r in gw.listings] == [401, 401]


async def test_refusals_come_before_the_script(client: httpx.AsyncClient) -> None:
    """new-api's own checks, in its order; the script is not consulted for a refused call."""
    async with FakeGateway(api_key=KEY, max_request_bytes=4096, check_models=True) as gw:
        gw.responder = lambda req: pytest.fail(f"responder called for {req!r}")
        big = body("x" * 5000)
        assert (await post(client, gw, big, key="nope")).status_code == 401
        resp = await post(client, gw, big)
        assert resp.status_code == 413
        assert resp.json()["error"]["code"] == "read_request_body_failed"
        assert resp.json()["error"]["type"] == "new_api_error"
        resp = await post(client, gw, {"messages": []})
        assert resp.status_code == 400
        assert resp.json()["error"]["message"].startswith("Model name not specified")
        resp = await post(client, gw, body(model="imagen-4"))
        assert resp.status_code == 503
        assert resp.json()["error"]["code"] == "model_not_found"
        assert "model imagen-4 under group default" in resp.json()["error"]["message"]
        assert [r.status for r in gw.requests] == [401, 413, 400, 503]
        gw.responder = None
        assert (await post(client, gw, body(model="gemini-2.5-flash-image-hd"))).status_code == 200


def test_images_are_deterministic_and_valid() -> None:
    for fmt, data in {
        "PNG": images.png(),
        "JPEG": images.jpeg(64, 48),
        "WEBP": images.webp(),
        "GIF": images.gif(),
    }.items():
        assert Image.open(io.BytesIO(data)).format == fmt
    assert images.png(seed=1) != images.png(seed=2)
    assert Image.open(io.BytesIO(images.jpeg(64, 48))).size == (64, 48)
    with pytest.raises(OSError):
        Image.open(io.BytesIO(images.corrupt_image())).load()
    with pytest.raises(OSError):
        Image.open(io.BytesIO(images.truncated(images.png(200, 200)))).load()

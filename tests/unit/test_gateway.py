"""`bot.gateway` (client, request, links) against a fake gateway over real HTTP: request
shape, every answer form, every error class and its retry rule, linked downloads."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Callable

import pytest

from bot import http_clients
from bot.domain import InputImage
from bot.errors import (
    GatewayAuthError,
    GatewayBadRequest,
    GatewayBalanceSpent,
    GatewayOutage,
    GatewayRateLimited,
    GatewayServerError,
    GatewayStatusError,
    GatewayTimeout,
    GatewayUnreachable,
    MalformedAnswer,
    NoImage,
    ResultDownloadFailed,
    SafetyBlocked,
)
from bot.gateway import request
from bot.gateway.client import GatewayClient
from bot.gateway.request import chat_completions_url
from bot.imaging import ImageWorker
from tests.fakes import gateway as gw
from tests.fakes.images import big_png, jpeg, png

MakeClient = Callable[..., GatewayClient]


@pytest.fixture
async def fake() -> AsyncIterator[gw.FakeGateway]:
    async with gw.FakeGateway(api_key="test-key") as server:
        yield server


@pytest.fixture
async def worker() -> AsyncIterator[ImageWorker]:
    pool = ImageWorker(2)
    yield pool
    pool.close()


@pytest.fixture
async def client_for(fake: gw.FakeGateway, worker: ImageWorker) -> AsyncIterator[MakeClient]:
    clients: list[GatewayClient] = []

    def make(
        *,
        timeout: float = 10.0,
        base_url: str | None = None,
        key: str = "test-key",
        min_attempt: float = 10.0,
        backoff: float = 0.05,
    ) -> GatewayClient:
        client = GatewayClient(
            http_clients.transport(32, fake.url),
            worker,
            base_url=base_url or fake.url,
            api_key=key,
            group="default",
            timeout=timeout,
            backoff=backoff,
            min_attempt=min_attempt,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


class TestRequest:
    """The request is exactly SPEC section 1's."""

    @pytest.mark.parametrize(
        ("base", "expected"),
        [
            ("https://api.example.com", "https://api.example.com/v1/chat/completions"),
            ("https://api.example.com/", "https://api.example.com/v1/chat/completions"),
            ("https://api.example.com//v1", "https://api.example.com/v1/chat/completions"),
            ("https://api.example.com/v1/", "https://api.example.com/v1/chat/completions"),
            ("https://x.io/proxy//", "https://x.io/proxy/v1/chat/completions"),
            ("https://x.io/v1/chat/completions", "https://x.io/v1/chat/completions"),
        ],
    )
    def test_base_url_is_normalised(self, base: str, expected: str) -> None:
        """Trailing slashes, `//v1` and a `/v1` suffix all lead to one endpoint."""
        assert chat_completions_url(base) == expected

    async def test_text_request_has_bearer_group_and_plain_content(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """Text-only: Bearer auth, `group`, `stream: false`, content as a plain string."""
        await client_for(base_url=fake.url + "//").generate(model="m-1", prompt="a corgi")
        [req] = fake.requests
        assert req.headers["Authorization"] == "Bearer test-key"
        assert req.body == {
            "model": "m-1",
            "group": "default",
            "stream": False,
            "messages": [{"role": "user", "content": "a corgi"}],
        }

    async def test_images_go_as_data_urls_in_order(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """Input images travel as base64 data URLs, original bytes, in the given order."""
        first, second = png(32, 32, seed=1), jpeg(40, 30, seed=2)
        images = [InputImage(first, "image/png"), InputImage(second, "image/jpeg")]
        await client_for().generate(model="m", prompt="merge", images=images, aspect_ratio="16:9")
        [req] = fake.requests
        assert req.prompt == "merge"
        assert req.images == [first, second]
        assert req.image_mimes == ["image/png", "image/jpeg"]
        assert req.aspect_ratio == "16:9"
        assert req.body["messages"][0]["content"][0] == {"type": "text", "text": "merge"}

    async def test_big_images_go_whole(self, fake: gw.FakeGateway, client_for: MakeClient) -> None:
        """Inputs past `SPILL_AFTER` (the body gathered in a temporary file, base64 written
        a piece at a time) arrive byte for byte, whatever their length modulo 3."""
        first = big_png(http_clients.SPILL_AFTER + 1, width=1600, height=1200, seed=5)
        second = jpeg(50, 50, seed=6)
        assert len(first) % 3 != 0 and len(first) > request.BASE64_CHUNK
        images = [InputImage(first, "image/png"), InputImage(second, "image/jpeg")]
        await client_for().generate(model="m", prompt="merge", images=images)
        [req] = fake.requests
        assert req.images == [first, second]
        assert req.prompt == "merge"

    async def test_a_big_body_is_sent_whole_again_on_a_retry(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """A body sent from its temporary file goes out from the start at every attempt."""
        photo = big_png(http_clients.SPILL_AFTER + 1, width=1600, height=1200, seed=9)
        fake.enqueue(gw.error(503), gw.markdown(png()))
        await client_for().generate(
            model="m", prompt="edit", images=[InputImage(photo, "image/png")]
        )
        assert [req.images for req in fake.requests] == [[photo], [photo]]


class TestAnswerForms:
    """Every image an answer carries is found, fetched and checked."""

    async def test_markdown_link(self, fake: gw.FakeGateway, client_for: MakeClient) -> None:
        """The documented `![image](https://…)` answer."""
        image = png(100, 60, seed=3)
        fake.enqueue(gw.markdown(image))
        result = await client_for().generate(model="m", prompt="p")
        assert [i.data for i in result.images] == [image]
        assert (result.images[0].width, result.images[0].height) == (100, 60)
        assert result.usage is not None and result.usage.total_tokens is not None

    async def test_several_markdown_links(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """Several links: all delivered, in order."""
        images = [png(20, 20, seed=i) for i in range(3)]
        fake.enqueue(gw.markdown(*images))
        result = await client_for().generate(model="m", prompt="p")
        assert [i.data for i in result.images] == images

    @pytest.mark.parametrize("in_markdown", [True, False])
    async def test_inline_data_url(
        self, fake: gw.FakeGateway, client_for: MakeClient, in_markdown: bool
    ) -> None:
        """A data URL in the content, inside markdown or bare."""
        image = jpeg(50, 50, seed=4)
        fake.enqueue(gw.data_url(image, "image/jpeg", in_markdown=in_markdown))
        result = await client_for().generate(model="m", prompt="p")
        assert [i.data for i in result.images] == [image]
        assert result.images[0].mime == "image/jpeg"

    async def test_hd_data_url_decodes_identically(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """A 12 MB PNG inline (a 16 MB base64 string) arrives byte for byte."""
        image = big_png(12 * 1024 * 1024)
        fake.enqueue(gw.data_url(image))
        result = await client_for().generate(model="m", prompt="p")
        assert len(result.images) == 1
        assert result.images[0].data == image

    async def test_openrouter_images_field(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """`message.images[].image_url.url`, with text content alongside."""
        image = png(30, 30, seed=5)
        fake.enqueue(gw.images_field(image, content="Here you go"))
        result = await client_for().generate(model="m", prompt="p")
        assert [i.data for i in result.images] == [image]

    async def test_answer_without_usage(self, fake: gw.FakeGateway, client_for: MakeClient) -> None:
        """`usage` is optional."""
        fake.enqueue(gw.markdown(png(), usage=None))
        result = await client_for().generate(model="m", prompt="p")
        assert result.usage is None


class TestNoImage:
    """A valid answer without an image is relayed, not retried."""

    async def test_refusal_text_is_kept(self, fake: gw.FakeGateway, client_for: MakeClient) -> None:
        """The model's own words come back in `NoImage.text`."""
        fake.enqueue(gw.text("I can't draw that. Could you describe it differently?"))
        with pytest.raises(NoImage) as caught:
            await client_for().generate(model="m", prompt="p")
        assert "describe it differently" in caught.value.text
        assert len(fake.requests) == 1


class TestSafetyBlocks:
    """new-api's two forms of Gemini's safety filter: never retried, the reason kept."""

    async def test_content_filter_without_an_image(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """200, empty content, `finish_reason: content_filter` (IMAGE_SAFETY and friends)."""
        fake.enqueue(gw.text("", finish_reason="content_filter"), gw.markdown(png()))
        with pytest.raises(SafetyBlocked) as caught:
            await client_for().generate(model="m", prompt="p")
        assert caught.value.text_key == "safety_blocked"
        assert "content_filter" in caught.value.ledger_note
        assert len(fake.requests) == 1

    async def test_prompt_blocked(self, fake: gw.FakeGateway, client_for: MakeClient) -> None:
        """400 with type and code `prompt_blocked`; new-api's request id is cut."""
        fake.enqueue(
            gw.error(
                400,
                "request blocked by Gemini API: PROHIBITED_CONTENT (request id: 2025X7a)",
                type="prompt_blocked",
                code="prompt_blocked",
            ),
            gw.markdown(png()),
        )
        with pytest.raises(SafetyBlocked) as caught:
            await client_for().generate(model="m", prompt="p")
        assert caught.value.reason == "request blocked by Gemini API: PROHIBITED_CONTENT"
        assert len(fake.requests) == 1

    async def test_plain_stop_without_image_is_no_image(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """`finish_reason: stop` with words only is the model talking, not a block."""
        fake.enqueue(gw.text("Which dog?", finish_reason="stop"))
        with pytest.raises(NoImage) as caught:
            await client_for().generate(model="m", prompt="p")
        assert not isinstance(caught.value, SafetyBlocked)


class TestOutages:
    """The operator's account ran dry, or the key is refused: an outage, never retried."""

    @pytest.mark.parametrize("code", ["insufficient_user_quota", "pre_consume_token_quota_failed"])
    async def test_balance_spent(
        self, fake: gw.FakeGateway, client_for: MakeClient, code: str
    ) -> None:
        message = "用户额度不足, 剩余额度: ＄0.012000 (request id: 20261203X)"
        fake.enqueue(gw.error(403, message, type="new_api_error", code=code))
        with pytest.raises(GatewayBalanceSpent) as caught:
            await client_for().generate(model="m", prompt="p")
        assert isinstance(caught.value, GatewayOutage)
        assert caught.value.text_key == "gateway_unavailable"
        assert "request id" not in caught.value.message
        assert len(fake.requests) == 1


class TestErrors:
    """Each failure maps to one error class; only transient ones are retried."""

    @pytest.mark.parametrize(
        ("status", "error"),
        [(400, GatewayBadRequest), (401, GatewayAuthError), (403, GatewayAuthError)],
    )
    async def test_client_errors_are_not_retried(
        self,
        fake: gw.FakeGateway,
        client_for: MakeClient,
        status: int,
        error: type[GatewayStatusError],
    ) -> None:
        """400/401/403 fail at once, with the gateway's message."""
        fake.enqueue(gw.error(status, "bad things", request_id=False), gw.markdown(png()))
        with pytest.raises(error) as caught:
            await client_for().generate(model="m", prompt="p")
        assert caught.value.message == "bad things"
        assert len(fake.requests) == 1

    async def test_wrong_key_is_an_auth_error(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """The fake's own 401 for a wrong key."""
        with pytest.raises(GatewayAuthError):
            await client_for(key="wrong").generate(model="m", prompt="p")

    @pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
    async def test_transient_statuses_are_retried(
        self, fake: gw.FakeGateway, client_for: MakeClient, status: int
    ) -> None:
        """429 and 5xx: retried, then the image arrives."""
        fake.enqueue(gw.error(status), gw.error(status), gw.markdown(png()))
        result = await client_for().generate(model="m", prompt="p")
        assert len(result.images) == 1
        assert len(fake.requests) == 3

    async def test_retry_after_is_honoured(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """429 with `Retry-After`: the next attempt waits that long."""
        fake.enqueue(gw.error(429, retry_after=0.5), gw.markdown(png()))
        await client_for().generate(model="m", prompt="p")
        first, second = fake.requests
        assert second.at - first.at >= 0.5

    async def test_retry_after_zero_still_backs_off(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """`Retry-After: 0` again and again: the attempts are still spaced out, growing."""
        fake.enqueue(gw.error(429, retry_after=0), gw.error(429, retry_after=0), gw.markdown(png()))
        await client_for(backoff=0.2).generate(model="m", prompt="p")
        first, second, third = fake.requests
        assert second.at - first.at >= 0.1
        assert third.at - second.at >= 0.2

    async def test_retry_after_beyond_the_deadline_gives_up(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """A `Retry-After` longer than the time left ends the request now."""
        fake.enqueue(gw.error(429, "slow down", retry_after=30))
        started = time.monotonic()
        with pytest.raises(GatewayRateLimited):
            await client_for(timeout=5).generate(model="m", prompt="p")
        assert time.monotonic() - started < 1
        assert len(fake.requests) == 1

    async def test_persistent_5xx_stops_at_the_deadline(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """Retries stay inside REQUEST_TIMEOUT."""
        fake.default = gw.error(503, "overloaded")
        started = time.monotonic()
        with pytest.raises(GatewayServerError):
            await client_for(timeout=1.0).generate(model="m", prompt="p")
        assert time.monotonic() - started <= 1.2
        assert len(fake.requests) >= 2

    async def test_hung_attempt_is_retried_within_the_deadline(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """An attempt gets half the deadline: a hung one is retried, and the retry works."""
        fake.enqueue(gw.hang(), gw.markdown(png()))
        result = await client_for(timeout=2.0, min_attempt=0.5).generate(model="m", prompt="p")
        assert len(result.images) == 1
        first, second = fake.requests
        assert 0.9 <= second.at - first.at < 1.5

    @pytest.mark.parametrize("status", [501, 505])
    async def test_other_5xx_are_not_retried(
        self, fake: gw.FakeGateway, client_for: MakeClient, status: int
    ) -> None:
        """Only 500, 502, 503 and 504 are transient."""
        fake.enqueue(gw.error(status, "not implemented"), gw.markdown(png()))
        with pytest.raises(GatewayServerError):
            await client_for().generate(model="m", prompt="p")
        assert len(fake.requests) == 1

    async def test_huge_error_page_is_cut_short(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """An error answer is read up to 64 KB, and its message stays short."""
        fake.enqueue(gw.raw(b"<html>" + b"x" * (10 * 1024 * 1024), status=400))
        with pytest.raises(GatewayBadRequest) as caught:
            await client_for().generate(model="m", prompt="p")
        assert len(caught.value.message) <= 200

    async def test_reset_connection_is_retried(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """A connection closed mid-body counts as a connection error and is retried."""
        fake.enqueue(gw.reset(), gw.markdown(png()))
        result = await client_for().generate(model="m", prompt="p")
        assert len(result.images) == 1
        assert len(fake.requests) == 2

    async def test_unreachable_gateway(self, client_for: MakeClient) -> None:
        """Nothing listening: `GatewayUnreachable` once the deadline is spent."""
        with pytest.raises(GatewayUnreachable):
            await client_for(base_url="http://127.0.0.1:9", timeout=0.5).generate(
                model="m", prompt="p"
            )

    async def test_hanging_gateway_times_out(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """No answer: `GatewayTimeout` at the deadline."""
        fake.enqueue(gw.hang())
        started = time.monotonic()
        with pytest.raises(GatewayTimeout):
            await client_for(timeout=0.5).generate(model="m", prompt="p")
        assert 0.45 <= time.monotonic() - started < 1.5

    @pytest.mark.parametrize(
        "body",
        [b"not json", b'{"choices": []}', b"[1, 2]", b'{"choices": [{"nomessage": 1}]}'],
    )
    async def test_malformed_answers(
        self, fake: gw.FakeGateway, client_for: MakeClient, body: bytes
    ) -> None:
        """Not a chat completion: `MalformedAnswer`, not retried."""
        fake.enqueue(gw.raw(body))
        with pytest.raises(MalformedAnswer):
            await client_for().generate(model="m", prompt="p")
        assert len(fake.requests) == 1

    async def test_oversized_inline_image_is_refused(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """A data URL over the 50 MB cap is refused without decoding it."""
        payload = base64.b64encode(b"\0" * (51 * 1024 * 1024)).decode()
        body = (
            '{"choices":[{"message":{"content":"![x](data:image/png;base64,' + payload + ')"}}]}'
        ).encode()
        fake.enqueue(gw.raw(body))
        with pytest.raises(MalformedAnswer, match="larger"):
            await client_for().generate(model="m", prompt="p")


class TestDownloads:
    """Linked images: http(s) only, checked, bounded in time."""

    async def test_link_that_404s(self, fake: gw.FakeGateway, client_for: MakeClient) -> None:
        """A dead link: `ResultDownloadFailed`, and the model is not called again."""
        fake.enqueue(gw.markdown_urls(f"{fake.url}/files/missing.png"))
        with pytest.raises(ResultDownloadFailed):
            await client_for().generate(model="m", prompt="p")
        assert len(fake.requests) == 1

    async def test_link_to_something_not_an_image(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """Bytes that are not an image are refused."""
        url = fake.add_file(b"<html>nope</html>", content_type="image/png")
        fake.enqueue(gw.markdown_urls(url))
        with pytest.raises(ResultDownloadFailed, match="not an image"):
            await client_for().generate(model="m", prompt="p")

    async def test_redirect_to_another_scheme_is_refused(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """A redirect to `file://` is never followed."""
        fake.enqueue(gw.markdown_urls(fake.add_redirect("file:///etc/passwd")))
        with pytest.raises(ResultDownloadFailed, match="http"):
            await client_for().generate(model="m", prompt="p")

    async def test_http_redirect_is_followed(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """A redirect to another http URL is fine."""
        image = png(10, 10, seed=9)
        fake.enqueue(gw.markdown_urls(fake.add_redirect(fake.add_file(image))))
        result = await client_for().generate(model="m", prompt="p")
        assert result.images[0].data == image

    async def test_non_http_link_is_ignored_as_image(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """A markdown image pointing at `file://` is not an image source at all."""
        fake.enqueue(gw.markdown_urls("file:///etc/passwd"))
        with pytest.raises(NoImage):
            await client_for().generate(model="m", prompt="p")

    @pytest.mark.parametrize(
        "url", ["http://localhost:{port}/files/x.png", "http://169.254.169.254/latest/meta-data"]
    )
    async def test_links_into_private_networks_are_refused(
        self, fake: gw.FakeGateway, client_for: MakeClient, url: str
    ) -> None:
        """Only the gateway's own host may be local; other private addresses are refused."""
        fake.enqueue(gw.markdown_urls(url.format(port=fake.port)))
        with pytest.raises(ResultDownloadFailed, match="private network"):
            await client_for().generate(model="m", prompt="p")

    async def test_some_links_broken(self, fake: gw.FakeGateway, client_for: MakeClient) -> None:
        """One good image and one dead link: the good one is delivered."""
        image = png(12, 12, seed=11)
        fake.enqueue(gw.markdown_urls(fake.add_file(image), f"{fake.url}/files/missing.png"))
        result = await client_for().generate(model="m", prompt="p")
        assert [i.data for i in result.images] == [image]

    async def test_trickling_download_hits_the_deadline(
        self, fake: gw.FakeGateway, client_for: MakeClient
    ) -> None:
        """An image that trickles past the deadline fails in time."""
        url = fake.add_file(png(200, 200), trickle=5.0)
        fake.enqueue(gw.markdown_urls(url))
        started = time.monotonic()
        with pytest.raises((ResultDownloadFailed, GatewayTimeout)):
            await client_for(timeout=1.0).generate(model="m", prompt="p")
        assert time.monotonic() - started < 1.6

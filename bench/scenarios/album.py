"""Album: from the last part of an album reaching the bot to the merge request.

Telegram delivers an album (media group) as separate updates, one per photo, sharing a
`media_group_id`, possibly split across `getUpdates` answers. The bot must wait for the
parts, then send one merge request with every image in album order (SPEC section 2). Here
a user sends a 3-photo album (512x512 PNGs, the caption on the first); the first two parts
are handed out in one `getUpdates` answer, the third in the next. The figure runs from the
fake handing out the third part to the gateway receiving a request with 3 images.

What it measures is mostly the bot's deliberate wait for more parts (no more can be known
to come), plus fetching 3 small photos and one POST; the work alone costs a few ms (see the
latency floor), so there is no floor here and the target is absolute: <= 1.5 s.

Album support is being built; while the bot sends no 3-image request within 10 s the row
is `n/a (album support missing)`, with what the bot sent instead.
"""

from __future__ import annotations

from bench.harness import fakes, running_bot, wait_until
from bench.report import Figure, not_measured
from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway, GatewayRequest
from tests.fakes.images import png

ROW = "album"
NAME = "last album part -> merge request (3 photos, 2 batches)"
USER_ID = 3001
PARTS = 3
TARGET_S = 1.5
GIVE_UP_S = 10.0


def merge_request(gateway: FakeGateway) -> GatewayRequest | None:
    """The first gateway request carrying all the album's images."""
    return next((r for r in gateway.requests if len(r.image_urls) == PARTS), None)


def _what_was_sent(gateway: FakeGateway) -> str:
    counts = [len(r.image_urls) for r in gateway.requests]
    if not counts:
        return "no gateway request at all"
    return f"gateway requests with {counts} image(s) instead"


async def run(quick: bool) -> list[Figure]:
    """The album row."""
    async with fakes() as (telegram, gateway), running_bot(telegram, gateway):
        gateway.default = gw.markdown(png(256, 256))
        user = telegram.user(USER_ID, "Album")
        chat = telegram.private_chat(user)
        parts = [
            telegram.send_photo(
                user,
                chat,
                png(512, 512, seed=i + 1),
                caption="merge these into one scene" if i == 0 else None,
                media_group_id="bench-album-1",
                push=False,
            )
            for i in range(PARTS)
        ]
        telegram.push_updates(parts[:-1])
        await telegram.wait_handed_out(u["update_id"] for u in parts[:-1])
        telegram.push_update(parts[-1])
        last = parts[-1]["update_id"]
        await telegram.wait_handed_out([last])
        found = await wait_until(lambda: merge_request(gateway) is not None, GIVE_UP_S, 0.005)
        request = merge_request(gateway)
        if not found or request is None:
            reason = f"album support missing: {_what_was_sent(gateway)} within {GIVE_UP_S:.0f} s"
            return [not_measured(ROW, NAME, "s", f"<= {TARGET_S} s", reason)]
        seconds = request.at - telegram.handed_out[last]
    return [
        Figure(
            ROW,
            NAME,
            seconds,
            "s",
            target=f"<= {TARGET_S} s",
            ok=seconds <= TARGET_S,
            details={"gateway_requests": [len(r.image_urls) for r in gateway.requests]},
        )
    ]

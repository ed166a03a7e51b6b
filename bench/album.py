"""Album: from the last part of an album reaching the bot to the merge request.

Telegram delivers an album (media group) as separate updates, one per photo, sharing a
`media_group_id`, possibly split across `getUpdates` answers. The bot must wait for the
parts, then send one merge request with every image in album order (SPEC section 2). Here
a user sends a 3-photo album (512x512 PNGs, the caption on the first); the first two parts
are handed out in one `getUpdates` answer, the third in the next. The figure runs from the
fake handing out the third part to the gateway receiving a request with 3 images.

That is mostly the bot's deliberate wait for more parts (none can be known to come), plus
fetching 3 small photos and one POST; the work alone costs a few ms (see the latency
floor), so there is no floor here and the target is absolute: <= 1.5 s.
"""

from __future__ import annotations

from bench.harness import bot, fakes
from bench.report import Figure
from tests.fakes import gateway as gw
from tests.fakes.images import png
from tests.support.waits import wait_for

PARTS = 3
TARGET_S = 1.5


async def run(quick: bool) -> list[Figure]:
    """The album row."""
    async with fakes() as (telegram, gateway), bot(telegram, gateway):
        gateway.default = gw.markdown(png(256, 256))
        user = telegram.user(3001, "Album")
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
        last = telegram.push_update(parts[-1])["update_id"]
        await telegram.wait_handed_out([last])
        request = await wait_for(
            lambda: next((r for r in gateway.requests if len(r.image_urls) == PARTS), None),
            within=10,
            interval=0.005,
            what=lambda: (
                f"a {PARTS}-image request (got {[len(r.image_urls) for r in gateway.requests]})"
            ),
        )
        seconds = request.at - telegram.handed_out[last]
    return [
        Figure(
            "album",
            f"last album part -> merge request ({PARTS} photos, 2 batches)",
            seconds,
            "s",
            target=f"<= {TARGET_S} s",
            ok=seconds <= TARGET_S,
        )
    ]

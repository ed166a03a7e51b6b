"""Big inputs: what one 19 MB photo, sent as a file to be edited, costs the bot in memory.

One user sends a 19 MB PNG as a document (just under the Bot API's 20 MB download limit)
with the caption "make it blue"; the gateway answers at once with a standard ~1 MB result.
On the way the bot downloads the file, checks it, writes the request body (the image as
base64, 26 MB) and sends it to the gateway, then delivers the result. Each round runs in a
fresh bot process: the figure is its peak RSS (VmHWM) once the result has arrived, less its
idle RSS just before, against the input's own size as the baseline.

Target: the edit costs at most twice the input (the photo held once, the body sent from a
temporary file a piece at a time, the result and the interpreter's working set beside it).
"""

from __future__ import annotations

import asyncio
import statistics

from bench.harness import MB, bot, fakes, memory_mb, standard_image
from bench.report import Figure
from tests.fakes import gateway as gw
from tests.fakes.images import big_png

ROW = "input"
INPUT_BYTES = 19 * MB
GROWTH_TARGET = 2.0
USER_ID = 3001


async def one_edit(photo: bytes) -> tuple[float, float]:
    """Idle RSS and peak RSS (MiB) of a fresh bot that edits `photo` once."""
    async with fakes() as (telegram, gateway):
        gateway.default = gw.markdown(standard_image())
        async with bot(telegram, gateway) as process:
            await asyncio.sleep(1.0)
            idle = memory_mb(process.pid)
            user = telegram.user(USER_ID, "Ann")
            sent = telegram.send_document(
                user,
                telegram.private_chat(user),
                photo,
                file_name="photo.png",
                mime_type="image/png",
                caption="make it blue",
            )
            await telegram.wait_reply("sendPhoto", USER_ID, sent["message_id"])
            process.check_alive()
            assert [len(image) for image in gateway.requests[-1].images] == [len(photo)]
            return idle, memory_mb(process.pid, "VmHWM")


async def run(quick: bool) -> list[Figure]:
    """The input row: the median growth of 3 rounds (1 with `--quick`)."""
    photo = big_png(INPUT_BYTES)
    rounds = [await one_edit(photo) for _ in range(1 if quick else 3)]
    growth = statistics.median(peak - idle for idle, peak in rounds)
    input_mb = len(photo) / MB
    return [
        Figure(
            ROW,
            f"peak RSS above idle, one {input_mb:.0f} MB PNG edited (baseline: the input)",
            growth,
            "MB",
            floor=input_mb,
            target=f"<= {GROWTH_TARGET:.0f}x input ({GROWTH_TARGET * input_mb:.0f} MB)",
            ok=growth <= GROWTH_TARGET * input_mb,
            details={"idle_and_peak_mb": [[round(i, 1), round(p, 1)] for i, p in rounds]},
        )
    ]

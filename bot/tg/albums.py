"""Albums: the parts of a media group arrive as separate updates, possibly in different
`getUpdates` batches, with the caption on any one part. Each part is read like any message
and collected per chat and `media_group_id`; the handler of the part that opens an album
waits until no part has arrived for `QUIET` seconds and then reads the whole album as one
request (`combine`). The work stays inside an update's handler, so a stopping bot waits
for it like for any other update.

An album is admitted once, as soon as a part addresses the bot: from then on its images
are fetched while the rest arrives. A refused album is still collected to its end, so its
late parts do not open a second one, and is then refused once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from bot.domain import Asked

#: Seconds without a new part after which an album is complete.
QUIET = 0.9


@dataclass
class Album:
    """The parts of one media group seen so far."""

    key: tuple[int, str]
    parts: list[Asked] = field(default_factory=list)
    #: Set when a part arrives, so the collector knows to wait another quiet period.
    grown: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def addressed(self) -> bool:
        """Whether any part's caption speaks to the bot (always true in private chats)."""
        return any(part.addressed for part in self.parts)


def combine(parts: list[Asked]) -> Asked:
    """The album as one request: the instructing part's words, every image in album order.

    The instructing part is the one whose caption addresses the bot, else any captioned
    one, else the first: in a group, "@bot merge these" wins over another part's "my cat".
    The answer goes to that part.
    """
    ordered = sorted(parts, key=lambda part: part.destination.reply_to or 0)
    captioned = [part for part in ordered if not part.bare]
    leader = ([p for p in captioned if p.addressed] or captioned or ordered)[0]
    return replace(
        leader,
        addressed=any(part.addressed for part in ordered),
        images=tuple(image for part in ordered for image in part.images),
        other_media=sum(not part.images for part in ordered),
        replied_image=None,
    )


class AlbumCollector:
    """Gathers media-group parts; the part that opens an album waits for the rest."""

    def __init__(self, quiet: float = QUIET) -> None:
        self._quiet = quiet
        self._albums: dict[tuple[int, str], Album] = {}

    def add(self, media_group_id: str, part: Asked) -> tuple[Album, bool]:
        """Add a part; the album so far, and whether this part opened it."""
        key = (part.destination.chat_id, media_group_id)
        opened = key not in self._albums
        album = self._albums.setdefault(key, Album(key))
        album.parts.append(part)
        album.grown.set()
        return album, opened

    async def complete(
        self,
        album: Album,
        admit: Callable[[Asked], Awaitable[None]],
        prefetch: Callable[[str], None],
    ) -> Asked:
        """Wait until no part has come for `quiet` seconds; the album read as one request.

        `admit(album so far)` runs once, when a part first addresses the bot; once it has
        passed, `prefetch(file_id)` starts fetching each image, the later ones included.
        What `admit` raises is raised when the album is complete.
        """
        admitted = False
        refused: BaseException | None = None
        fetched = 0
        while True:
            if album.addressed and not (admitted or refused):
                try:
                    await admit(combine(album.parts))
                    admitted = True
                except Exception as exc:  # noqa: BLE001 - raised below, once the album is whole
                    refused = exc
            if admitted:
                for part in album.parts[fetched:]:
                    for ref in part.images:
                        prefetch(ref)
                fetched = len(album.parts)
            try:
                await asyncio.wait_for(album.grown.wait(), self._quiet)
            except TimeoutError:
                break
            album.grown.clear()
        del self._albums[album.key]
        if refused is not None:
            raise refused
        return combine(album.parts)

"""Albums: the parts of a media group arrive as separate updates, possibly in different
`getUpdates` batches, with the caption on any one part. They are collected per chat and
`media_group_id`. The handler of the part that opens an album waits until no part has
arrived for `QUIET` seconds and then takes the whole album: the work stays inside an update's
handler, so a stopping bot waits for it like for any other update.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from telegram import Message

from bot.tg.addressing import Instruction

#: Seconds without a new part after which an album is complete.
QUIET = 0.9


@dataclass
class Album:
    """The parts of one media group seen so far, with their instructions."""

    key: tuple[int, str]
    parts: list[tuple[Message, Instruction]] = field(default_factory=list)
    #: Set when a part arrives, so the collector knows to wait another quiet period.
    grown: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def addressed(self) -> bool:
        """Whether any part's caption speaks to the bot (always true in private chats)."""
        return any(instruction.addressed for _, instruction in self.parts)

    def ordered(self) -> list[tuple[Message, Instruction]]:
        """The parts in album order."""
        return sorted(self.parts, key=lambda part: part[0].message_id)

    def leader(self) -> tuple[Message, Instruction]:
        """The part whose caption instructs the bot, else any captioned one, else the first.

        In a group, "@bot merge these" wins over another part's "my cat".
        """
        ordered = self.ordered()
        captioned = [p for p in ordered if p[1].prompt or p[1].command]
        addressed = [p for p in captioned if p[1].addressed]
        return (addressed or captioned or ordered)[0]


class AlbumCollector:
    """Gathers media-group parts; the part that opens an album waits for the rest."""

    def __init__(self, quiet: float = QUIET) -> None:
        self._quiet = quiet
        self._albums: dict[tuple[int, str], Album] = {}

    def add(self, message: Message, instruction: Instruction) -> tuple[Album, bool]:
        """Add a part; the album so far, and whether this part opened it."""
        assert message.media_group_id is not None
        key = (message.chat_id, message.media_group_id)
        opened = key not in self._albums
        album = self._albums.setdefault(key, Album(key))
        album.parts.append((message, instruction))
        album.grown.set()
        return album, opened

    async def complete(self, album: Album) -> Album:
        """Wait until no part has come for `quiet` seconds; the album, now closed."""
        while True:
            try:
                await asyncio.wait_for(album.grown.wait(), self._quiet)
            except TimeoutError:
                break
            album.grown.clear()
        del self._albums[album.key]
        return album

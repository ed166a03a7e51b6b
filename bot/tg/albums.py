"""Albums: the parts of a media group arrive as separate updates, possibly in different
`getUpdates` batches, with the caption on any one part. They are collected per chat and
`media_group_id`, and handed over as one album once no part has arrived for `QUIET`
seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Message

from bot.tg.addressing import Instruction

#: Seconds without a new part after which an album is complete.
QUIET = 0.9


@dataclass
class Album:
    """The parts of one media group seen so far, with their instructions."""

    parts: list[tuple[Message, Instruction]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None

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
    """Gathers media-group parts and calls `on_complete` once per finished album."""

    def __init__(self, quiet: float = QUIET) -> None:
        self._quiet = quiet
        self._albums: dict[tuple[int, str], Album] = {}

    def add(
        self, message: Message, instruction: Instruction, on_complete: Callable[[Album], object]
    ) -> Album:
        """Add a part; `on_complete(album)` runs `quiet` seconds after the last part."""
        assert message.media_group_id is not None
        key = (message.chat_id, message.media_group_id)
        album = self._albums.setdefault(key, Album())
        album.parts.append((message, instruction))
        if album.timer is not None:
            album.timer.cancel()
        album.timer = asyncio.get_running_loop().call_later(
            self._quiet, self._complete, key, on_complete
        )
        return album

    def _complete(self, key: tuple[int, str], on_complete: Callable[[Album], object]) -> None:
        album = self._albums.pop(key, None)
        if album is not None:
            on_complete(album)

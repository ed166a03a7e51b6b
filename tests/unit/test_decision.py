"""`bot.core.decision`: what a message asks for, decided without Telegram or a database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.decision import Explain, Keep, Note, Run, decide, for_the_bot, may_use_pending
from bot.domain import Asked, Destination, JobKind, Requester
from bot.errors import EmptyPrompt, UnknownCommand, UnsupportedAspectRatio, UnsupportedMedia

ANN = Requester(1, 1, "private", "ann", "en")
IN_GROUP = Requester(1, -100, "supergroup", "ann", "en")
HERE = Destination(1, 10)


def asked(text: str = "", **fields: object) -> Asked:
    values: dict[str, object] = {"requester": ANN, "destination": HERE, "addressed": True}
    values.update(text=text, **fields)
    return Asked(**values)  # type: ignore[arg-type]


def run(decision: object) -> Run:
    assert isinstance(decision, Run), decision
    return decision


class TestWhatIsMade:
    """Text draws; own images, a replied-to image or pending images are edited or merged."""

    def test_text_generates(self) -> None:
        """A plain text is the prompt of a new picture, answered to where it was asked."""
        job = run(decide(asked("a corgi"), (), 10)).job
        assert (job.prompt, job.images, job.kind, job.hd) == (
            "a corgi",
            (),
            JobKind.GENERATE,
            False,
        )
        assert job.destination == HERE and job.requester == ANN

    def test_own_image_with_instruction_is_edited(self) -> None:
        """A photo with a caption edits that photo, even with pending images waiting."""
        job = run(decide(asked("make it blue", images=("own",)), ("old",), 10)).job
        assert (job.images, job.kind, job.from_pending) == (("own",), JobKind.EDIT, False)

    def test_reply_to_an_image_edits_it(self) -> None:
        """A text replying to an image edits the replied-to image."""
        job = run(decide(asked("add a hat", replied_image="theirs"), ("old",), 10)).job
        assert job.images == ("theirs",) and not job.from_pending

    def test_pending_images_are_merged(self) -> None:
        """A text with pending images waiting uses all of them, oldest first."""
        job = run(decide(asked("side by side"), ("a", "b"), 10)).job
        assert (job.images, job.kind, job.from_pending) == (("a", "b"), JobKind.MERGE, True)

    def test_hd_command_and_ratio(self) -> None:
        """/hd asks for the HD model; `--ar` leaves the prompt and becomes the ratio."""
        job = run(decide(asked("a beach --ar 16:9", command="hd"), (), 10)).job
        assert (job.prompt, job.aspect_ratio, job.hd) == ("a beach", "16:9", True)

    def test_too_many_images_are_cut_with_a_note(self) -> None:
        """Beyond the input limit the first images are used, and the user is told."""
        decision = run(decide(asked("merge", images=tuple("abcde")), (), 3))
        assert decision.job.images == ("a", "b", "c")
        assert decision.notes == (Note.of("too_many_images", count=5, max=3),)


class TestKeepAndExplain:
    """Images without a word wait; what cannot become a request is explained."""

    def test_images_without_instruction_are_kept(self) -> None:
        """An uncaptioned album is kept, with a note about the items that are not images."""
        decision = decide(asked(images=("a", "b"), other_media=1), (), 10)
        assert decision == Keep(("a", "b"), (Note.of("album_skipped", count=1),))

    @pytest.mark.parametrize(
        ("message", "error"),
        [
            (asked(other_media=1), UnsupportedMedia),
            (asked(command="start"), UnknownCommand),
            (asked("a cat --ar 7:3"), UnsupportedAspectRatio),
            (asked(command="draw"), EmptyPrompt),
            (asked(" \u200b "), EmptyPrompt),
        ],
    )
    def test_explained(self, message: Asked, error: type[Exception]) -> None:
        """A sticker, a stranger's command, an unknown ratio, nothing to draw."""
        decision = decide(message, (), 10)
        assert isinstance(decision, Explain) and isinstance(decision.error, error)

    def test_empty_instruction_on_an_image_says_what_to_do_with_it(self) -> None:
        """`/draw` as a photo's caption: "tell me what to do with the image"."""
        decision = decide(asked(command="draw", images=("own",)), (), 10)
        assert isinstance(decision, Explain) and isinstance(decision.error, EmptyPrompt)
        assert decision.error.editing

    def test_blank_text_leaves_pending_images_waiting(self) -> None:
        """Pending images are not used (nor taken) by a text with nothing to do."""
        decision = decide(asked(command="draw"), ("a",), 10)
        assert isinstance(decision, Explain) and not decision.error.editing  # type: ignore[attr-defined]


class TestWhoIsAnswered:
    """Groups hear the bot only when addressed, and only for image commands."""

    def test_groups(self) -> None:
        """Chatter and other commands in groups are the bot's to ignore; private chats not."""
        group = replace(asked("hello"), requester=IN_GROUP)
        assert not for_the_bot(replace(group, addressed=False))
        assert for_the_bot(group)
        assert not for_the_bot(replace(group, command="start"))
        assert for_the_bot(asked(command="start"))

    def test_pending_images_matter_only_to_bare_text(self) -> None:
        """A message with images of its own, or a reply to one, never looks at pending ones."""
        assert may_use_pending(asked("go"))
        assert not may_use_pending(asked("go", images=("a",)))
        assert not may_use_pending(asked("go", replied_image="b"))
        assert not may_use_pending(asked(command="quota"))

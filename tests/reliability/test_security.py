"""Security properties of the running bot: who may do what, whose quota pays, what the bot
downloads, and that secrets and other users' prompts never reach a chat or a log."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.parse
from typing import Any

import pytest

from tests.fakes import gateway as gw
from tests.fakes.gateway import FakeGateway
from tests.fakes.images import png
from tests.fakes.telegram import detect_entities
from tests.reliability.support import (
    API_KEY,
    BOT_ID,
    BOT_USERNAME,
    REPO,
    TOKEN,
    TOKEN_SECRET,
    BotProcess,
    Launch,
    ObservedTelegram,
    answers,
    one_sentence,
    outgoing_texts,
    person,
    photos,
    problems_in,
    texts,
    wait_answers,
    wait_until,
)

JsonDict = dict[str, Any]
ADMIN = 99
GROUP_ID = -1009990001
ADMIN_ONLY = "This command is for the bot's admins."
PRIVATE_BOT = "Sorry, this bot is private"
MB = 1024 * 1024


def secret_forms(secret: str) -> list[str]:
    """The secret as it could leak: verbatim, URL-encoded, and its token half."""
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    return sorted(forms)


SECRETS = [*secret_forms(TOKEN), TOKEN_SECRET, API_KEY]


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def group_message(
    telegram: ObservedTelegram, user: JsonDict, group: JsonDict, text: str, **extra: Any
) -> JsonDict:
    return telegram.send_message(user, group, text=text, entities=detect_entities(text), **extra)


def buttons(message: JsonDict) -> dict[str, str]:
    """callback_data of the message's result buttons, by action ("again", "hd")."""
    keyboard = message["reply_markup"]["inline_keyboard"]
    return {b["callback_data"].split(":")[0]: b["callback_data"] for row in keyboard for b in row}


def album(
    telegram: ObservedTelegram, user: JsonDict, chat: JsonDict, caption: str, group_id: str
) -> list[JsonDict]:
    return [
        telegram.send_photo(
            user,
            chat,
            png(60, 60, seed=seed),
            caption=caption if seed == 0 else None,
            media_group_id=group_id,
        )
        for seed in range(2)
    ]


class TestAdminCommands:
    """Admin commands work for ADMIN_USER_IDS only, in private and in groups."""

    async def test_non_admins_are_refused_and_nothing_changes(
        self, launch: Launch, telegram: ObservedTelegram
    ) -> None:
        """Each admin command from a user, a group member and an anonymous admin: refused."""
        bot = await launch(ADMIN_USER_IDS=ADMIN)
        eve, chat = person(telegram, 5, "Eve")
        group = telegram.group_chat(GROUP_ID)
        commands = ["/stats", "/setquota 5 unlimited", "/ban 6", "/unban 5"]
        for command in commands:
            telegram.send_text(eve, chat, command)
        got = await wait_answers(telegram, 5, len(commands))
        assert [m["text"] for m in got] == [ADMIN_ONLY] * len(commands)
        anonymous = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
        group_message(telegram, eve, group, f"/setquota@{BOT_USERNAME} 5 unlimited")
        group_message(telegram, anonymous, group, "/ban 5", sender_chat=group)
        got = await wait_answers(telegram, GROUP_ID, 2)
        assert [m["text"] for m in got] == [ADMIN_ONLY] * 2
        assert bot.query("SELECT * FROM users") == []
        assert problems_in(bot.log) == []

    async def test_admin_commands_work_for_admins(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """The admin sets a zero limit, bans and unbans; each takes effect for the user."""
        bot = await launch(ADMIN_USER_IDS=ADMIN)
        admin, admins_chat = person(telegram, ADMIN, "Root")
        eve, chat = person(telegram, 5, "Eve")
        telegram.send_text(admin, admins_chat, "/setquota 5 0")
        await wait_answers(telegram, ADMIN, 1, settle=0)
        telegram.send_text(eve, chat, "a cat")
        [refusal] = await wait_answers(telegram, 5, 1, settle=0)
        assert "switched off" in refusal["text"]
        telegram.send_text(admin, admins_chat, "/ban 5")
        await wait_answers(telegram, ADMIN, 2, settle=0)
        telegram.send_text(eve, chat, "/quota")
        got = await wait_answers(telegram, 5, 2, settle=0)
        assert PRIVATE_BOT in got[-1]["text"]
        assert gateway.requests == []
        assert [r["status"] for r in bot.rows()] == ["over_quota"]  # a refused /quota is no request

    async def test_absurd_numbers_get_the_usage_line(
        self, launch: Launch, telegram: ObservedTelegram
    ) -> None:
        """/setquota and /ban with 20-digit numbers: a usage line, no crash, nothing stored."""
        bot = await launch(ADMIN_USER_IDS=ADMIN)
        admin, chat = person(telegram, ADMIN, "Root")
        huge = "99999999999999999999"
        for command in (f"/setquota 5 {huge}", f"/setquota {huge} 3", f"/ban {huge}"):
            telegram.send_text(admin, chat, command)
        got = await wait_answers(telegram, ADMIN, 3)
        assert all(m["text"].startswith("Usage:") for m in got), got
        assert problems_in(bot.log) == []


class TestAccessLists:
    """ALLOWED_USER_IDS and bans hold for text, commands, photos, albums and buttons."""

    async def test_allow_list(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """An outsider: one refusal per request in private, silence in groups; nothing runs."""
        bot = await launch(ALLOWED_USER_IDS="1", ADMIN_USER_IDS=ADMIN)
        await self._outsider_is_kept_out(bot, telegram, gateway)

    async def test_ban(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """A banned user: refused everywhere like an outsider; unbanned, served again."""
        bot = await launch(ADMIN_USER_IDS=ADMIN)
        admin, admins_chat = person(telegram, ADMIN, "Root")
        telegram.send_text(admin, admins_chat, "/ban 2")
        await wait_answers(telegram, ADMIN, 1, settle=0)
        await self._outsider_is_kept_out(bot, telegram, gateway)
        telegram.send_text(admin, admins_chat, "/unban 2")
        await wait_answers(telegram, ADMIN, 2, settle=0)
        bob = telegram.user(2, "Bob")
        telegram.send_text(bob, telegram.private_chat(bob), "now a dog")
        await wait_until(lambda: bool(photos(telegram, 2)), what="Bob's photo after the unban")

    @staticmethod
    async def _outsider_is_kept_out(
        bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        ann, _ = person(telegram, 1, "Ann")
        bob, bobs_chat = person(telegram, 2, "Bob")
        group = telegram.group_chat(GROUP_ID)
        # Ann (allowed) makes a result in the group for Bob to press.
        group_message(telegram, ann, group, "/draw a kite")
        [result] = await wait_answers(telegram, GROUP_ID, 1, settle=0)
        calls_before = len(gateway.requests)

        private_tries = 0
        for text in ("a cat", "/draw a dog", "/help", "/quota", "/cancel"):
            telegram.send_text(bob, bobs_chat, text)
            private_tries += 1
        telegram.send_photo(bob, bobs_chat, png(50, 50, seed=61), caption="edit it")
        telegram.send_photo(bob, bobs_chat, png(50, 50, seed=62))
        private_tries += 2
        album(telegram, bob, bobs_chat, "merge them", "album-private")
        private_tries += 1
        got = await wait_answers(telegram, 2, private_tries, settle=1.0)
        assert [m.get("text") for m in got] == [
            "Sorry, this bot is private and not available to you."
        ] * private_tries

        group_message(telegram, bob, group, f"/draw@{BOT_USERNAME} a boat")
        telegram.send_text(bob, group, "make it red", reply_to=result)
        album(telegram, bob, group, f"@{BOT_USERNAME} merge", "album-group")
        telegram.press_button(bob, result, buttons(result)["again"])
        telegram.press_button(bob, result, buttons(result)["hd"])
        await asyncio.sleep(1.5)  # the album waits 0.9 s for more parts
        assert len(answers(telegram, GROUP_ID)) == 1  # only Ann's result
        for call in telegram.calls_of("answerCallbackQuery"):
            assert not call.params.get("text"), call.params  # no "Working on it…"
        assert len(gateway.requests) == calls_before
        assert telegram.calls_of("getFile") == []  # an outsider's images are not even fetched
        assert all(r["units"] == 0 for r in bot.rows("user_id = 2"))
        assert {r["status"] for r in bot.rows("user_id = 2")} == {"denied"}
        assert problems_in(bot.log) == []


class TestQuotaBelongsToTheRequester:
    """One user can never spend another's quota."""

    async def test_buttons_and_replies_in_a_group_charge_the_presser(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """Quota 1: Bob and Carol use Ann's result; each pays; Ann keeps exactly one unit."""
        bot = await launch(DAILY_QUOTA=1)
        ann, bob, carol = (telegram.user(i, n) for i, n in ((1, "Ann"), (2, "Bob"), (3, "Carol")))
        group = telegram.group_chat(GROUP_ID)
        group_message(telegram, ann, group, "/draw a kite")
        [result] = await wait_answers(telegram, GROUP_ID, 1, settle=0)
        telegram.press_button(bob, result, buttons(result)["again"])
        await wait_answers(telegram, GROUP_ID, 2, settle=0)
        telegram.press_button(bob, result, buttons(result)["hd"])  # Bob has nothing left
        telegram.send_text(carol, group, "make it blue", reply_to=result)
        got = await wait_answers(telegram, GROUP_ID, 4, within=20)
        over = [m for m in got if "You have used today's 1 image." in m.get("text", "")]
        assert len(over) == 1 and len(photos(telegram, GROUP_ID)) == 3
        used = {uid: sum(r["units"] for r in bot.rows("user_id = ?", (uid,))) for uid in (1, 2, 3)}
        assert used == {1: 1, 2: 1, 3: 1}
        assert [r["status"] for r in bot.rows("user_id = 2")] == ["ok", "over_quota"]
        assert len(gateway.requests) == 3


class TestDownloads:
    """Result images come only over http(s), capped in size, with few redirects."""

    @pytest.mark.parametrize(
        "target",
        [
            "file:///etc/passwd",
            "ftp://127.0.0.1/x.png",
            "gopher://127.0.0.1:70/x",
            "data:,root",
        ],
    )
    async def test_redirect_to_another_scheme_is_refused(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway, target: str
    ) -> None:
        """The link redirects off http(s): not followed; a clear failure, nothing charged."""
        link = gateway.add_redirect(target)
        gateway.enqueue(gw.markdown_urls(link))
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, "a map")
        [answer] = await wait_answers(telegram, 1)
        assert "could not be downloaded" in one_sentence(answer)
        assert "root:" not in answer["text"]
        [row] = bot.rows()
        assert (row["status"], row["units"]) == ("failed", 0)
        assert "http(s)" in row["error"]
        assert sum(gateway.file_hits.values()) == 1

    async def test_non_http_link_in_the_answer_is_not_fetched(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """`![image](file:///etc/passwd)`: no image found, nothing read, nothing charged."""
        gateway.enqueue(gw.markdown_urls("file:///etc/passwd", text="Here"))
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, "a map")
        [answer] = await wait_answers(telegram, 1)
        assert "root:" not in answer["text"] and "photo" not in answer
        [row] = bot.rows()
        assert (row["status"], row["units"]) == ("no_image", 0)

    async def test_oversized_image_is_refused(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """A 60 MB result image (over the 50 MB cap) is refused without reading it all."""
        link = gateway.add_file(b"\x89PNG\r\n\x1a\n" + bytes(60 * MB))
        gateway.enqueue(gw.markdown_urls(link))
        ann, chat = person(telegram, 1)
        asked_at = time.monotonic()
        telegram.send_text(ann, chat, "a huge map")
        [answer] = await wait_answers(telegram, 1)
        assert "could not be downloaded" in answer["text"]
        assert telegram.calls_of("sendMessage")[0].at - asked_at < 3
        [row] = bot.rows()
        assert (row["status"], row["units"]) == ("failed", 0)
        assert "larger than 50 MB" in row["error"]

    async def test_redirect_chain_is_cut(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """Five redirects in a row: given up after a few; nothing charged."""
        link = gateway.add_file(png(40, 40, seed=63))
        for _ in range(5):
            link = gateway.add_redirect(link)
        gateway.enqueue(gw.markdown_urls(link))
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, "a loop")
        [answer] = await wait_answers(telegram, 1)
        assert "could not be downloaded" in answer["text"]
        assert sum(gateway.file_hits.values()) <= 4
        [row] = bot.rows()
        assert (row["status"], row["units"], row["error"]) == (
            "failed",
            0,
            "ResultDownloadFailed: too many redirects",
        )


class TestNothingLeaksIntoChats:
    """No token, no API key, no other user's prompt ever appears in a chat."""

    async def test_mixed_traffic(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """Successes, failures, refusals, reports and admin stats: every text is clean."""
        gateway.responder = lambda req: (
            gw.error(401, "invalid token")
            if "fail-auth" in req.prompt
            else gw.error(500, "boom")
            if "fail-server" in req.prompt
            else gw.text("I will not draw that.")
            if "refuse" in req.prompt
            else None
        )
        bot = await launch(ADMIN_USER_IDS=ADMIN, REQUEST_TIMEOUT=2)
        group = telegram.group_chat(GROUP_ID)
        marks = {uid: f"zq{uid}marker" for uid in (1, 2, 3, 4, ADMIN)}
        people = {uid: telegram.user(uid, f"U{uid}", username=f"user{uid}") for uid in marks}
        private = {1: "a cat", 2: "fail-auth a dog", ADMIN: "refuse a bird"}
        in_group = {3: "fail-server a fish", 4: "a horse"}
        for uid, prompt in private.items():
            telegram.send_text(
                people[uid], telegram.private_chat(people[uid]), f"{prompt} {marks[uid]}"
            )
        for uid, prompt in in_group.items():
            group_message(telegram, people[uid], group, f"/draw {prompt} {marks[uid]}")
        telegram.send_photo(
            people[1], telegram.private_chat(people[1]), png(70, 70), caption=f"edit {marks[1]}"
        )
        expected = {1: 2, 2: 1, ADMIN: 1}
        for uid, count in expected.items():
            await wait_answers(telegram, uid, count, settle=0)
        await wait_until(lambda: len(answers(telegram, GROUP_ID)) >= 2, what="group answers")
        for command in ("/quota", "/stats", "/help"):
            telegram.send_text(people[ADMIN], telegram.private_chat(people[ADMIN]), command)
        await wait_answers(telegram, ADMIN, 4, within=20)

        members = {1: {1}, 2: {2}, ADMIN: {ADMIN}, GROUP_ID: {3, 4}}
        found = outgoing_texts(telegram)
        assert found
        for chat_id, text in found:
            assert leaks(text) == [], (chat_id, text)
            if chat_id in members:
                strangers = [marks[u] for u in marks if u not in members[chat_id]]
                assert not [m for m in strangers if m in text], (chat_id, text)
        assert problems_in(bot.log) == []

    async def test_gateway_error_echoing_the_key(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """A 400 whose message quotes the Authorization header: the key stays out of the chat."""
        gateway.enqueue(gw.error(400, f"invalid header Authorization: Bearer {API_KEY}"))
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, "a cat")
        [answer] = await wait_answers(telegram, 1)
        assert "refused this request" in answer["text"]
        assert leaks(answer["text"]) == []

    async def test_forged_button_cannot_replay_another_chats_request(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """Bob's client sends `again:<Ann's request id>`: Ann's photo and prompt stay Ann's."""
        ann, anns_chat = person(telegram, 1, "Ann")
        bob, bobs_chat = person(telegram, 2, "Bob")
        secret_photo = png(90, 60, seed=64)
        telegram.send_photo(ann, anns_chat, secret_photo, caption="my passport, make it sepia")
        [anns_result] = await wait_answers(telegram, 1, settle=0)
        telegram.send_text(bob, bobs_chat, "a dog")
        [bobs_result] = await wait_answers(telegram, 2, settle=0)
        anns_id = buttons(anns_result)["again"].split(":")[1]
        forged = telegram.press_button(bob, bobs_result, buttons(bobs_result)["again"], push=False)
        forged["callback_query"]["data"] = f"again:{anns_id}"
        telegram.push_update(forged)
        await asyncio.sleep(2.0)
        for request in gateway.requests[2:]:
            assert "passport" not in request.prompt and secret_photo not in request.images
        assert len(answers(telegram, 2)) <= 2
        assert all("passport" not in text for text in texts(telegram, 2))
        assert [r["user_id"] for r in bot.rows("prompt LIKE '%passport%'")] == [1]

    async def test_forged_button_with_an_absurd_id(
        self, bot: BotProcess, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """`again:99999999999999999999`: answered plainly, no crash, nothing run."""
        ann, chat = person(telegram, 1)
        telegram.send_text(ann, chat, "a dog")
        [result] = await wait_answers(telegram, 1, settle=0)
        forged = telegram.press_button(ann, result, buttons(result)["again"], push=False)
        forged["callback_query"]["data"] = "again:99999999999999999999"
        telegram.push_update(forged)
        await wait_until(lambda: bool(telegram.calls_of("answerCallbackQuery")), what="answer")
        await asyncio.sleep(0.5)
        assert len(gateway.requests) == 1
        assert problems_in(bot.log) == []


class TestNothingLeaksIntoLogs:
    """Neither the token nor the API key appears in stderr, at DEBUG either."""

    async def test_debug_logs_during_faults(
        self, launch: Launch, telegram: ObservedTelegram, gateway: FakeGateway
    ) -> None:
        """Downloads, gateway errors, Bot API errors, a blocked chat and a stop: no secret."""
        gateway.enqueue(
            gw.error(401, "invalid token"),
            gw.error(400, f"bad header: Bearer {API_KEY}"),
            gw.markdown(png(40, 40, seed=65)),
        )
        bot = await launch(LOG_LEVEL="DEBUG", REQUEST_TIMEOUT=2)
        ann, chat = person(telegram, 1)
        bob, bobs_chat = person(telegram, 2, "Bob")
        telegram.send_text(ann, chat, "one")
        await wait_answers(telegram, 1, 1, settle=0)
        telegram.send_text(ann, chat, "two")
        await wait_answers(telegram, 1, 2, settle=0)
        telegram.send_photo(ann, chat, png(50, 50, seed=66), caption="three")  # a file download
        await wait_answers(telegram, 1, 3, settle=0)
        telegram.fail_next("getUpdates", status=502, description="Bad Gateway", retry_after=None)
        telegram.block(2)
        telegram.send_text(bob, bobs_chat, "four")
        await wait_until(
            lambda: any(c.params.get("chat_id") == 2 for c in telegram.calls_of("sendPhoto")),
            what="a photo for the blocked chat",
        )
        await asyncio.sleep(1.5)
        await bot.stop()
        log = bot.log
        assert "DEBUG" in log and telegram.downloads
        assert leaks(log) == [], [line for line in log.splitlines() if leaks(line)][:5]

    async def test_rejected_token_at_start(
        self, launch: Launch, telegram: ObservedTelegram
    ) -> None:
        """A revoked token: exit non-zero with one clear line, and the token is not printed."""
        revoked_secret = "AAHrevokedSecretValue9Zx"
        bot = await launch(
            TELEGRAM_BOT_TOKEN=f"{BOT_ID}:{revoked_secret}", wait=False, clean_exit=False
        )
        code = await bot.wait_exit(20)
        assert code == 1
        log = bot.log
        assert revoked_secret not in log, log[-1500:]
        assert "TELEGRAM_BOT_TOKEN" in log.strip().splitlines()[-1]


class TestContainer:
    """The Docker image does not run as root."""

    def test_dockerfile_runs_as_a_non_root_user(self) -> None:
        """The last USER instruction names a user other than root/0."""
        dockerfile = REPO / "Dockerfile"
        if not dockerfile.exists():
            pytest.skip("no Dockerfile at the repository root yet")
        users = re.findall(r"(?im)^\s*USER\s+(\S+)", dockerfile.read_text())
        assert users, "no USER instruction: the container runs as root"
        name = users[-1].split(":")[0]
        assert name not in ("root", "0"), f"USER {users[-1]}"

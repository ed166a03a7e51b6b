"""Who may use the bot, checked once per request: allow-lists from the settings, bans from
the ledger. A refused image request is recorded (status `denied`); a refused command is
only logged, since it is not a request.

Bans are few and change only through `/ban` and `/unban` in this process: they are read
from the ledger once, with the first check, and kept here as they change, so admitting a
request costs no trip to the database.
"""

from __future__ import annotations

import logging

from bot.config import Settings
from bot.core.moves import ChatMoves
from bot.core.quota import QuotaPolicy
from bot.domain import Asked, JobKind, NewRequest, Requester, Status
from bot.errors import AccessDenied, NotAdmin
from bot.ledger.chats import ChatStore
from bot.ledger.requests import RequestLog
from bot.ledger.users import UserStore

log = logging.getLogger("bot.requests")


class Access:
    """Admins always; otherwise not banned and, when lists are set, on one of them."""

    def __init__(
        self,
        settings: Settings,
        users: UserStore,
        requests: RequestLog,
        quota: QuotaPolicy,
        moves: ChatMoves,
        chats: ChatStore,
    ) -> None:
        self._moves = moves
        self._chat_store = chats
        self._languages: dict[int, str] = {}
        self._banned: set[int] | None = None  # read with the first check
        self._admins = settings.admin_user_ids
        self._users = settings.allowed_user_ids
        self._chats = settings.allowed_chat_ids
        self._user_store = users
        self._requests = requests
        self._quota = quota

    def is_admin(self, user_id: int) -> bool:
        """Whether the user is in `ADMIN_USER_IDS`."""
        return user_id in self._admins

    async def allows(self, user_id: int, chat_id: int) -> bool:
        """Whether this user may make requests in this chat."""
        if user_id in self._admins:
            return True
        listed = not (self._users or self._chats) or user_id in self._users
        if not (listed or self._chat_listed(chat_id)):
            return False
        return user_id not in await self._bans()

    async def _bans(self) -> set[int]:
        if self._banned is None:
            loaded = await self._user_store.banned()
            if self._banned is None:  # a read made at the same time may be kept already
                self._banned = loaded
        return self._banned

    async def admin_language(self, admin_id: int) -> str:
        """The language an admin last wrote in (English until they have)."""
        if admin_id not in self._languages:
            self._languages[admin_id] = await self._user_store.language(admin_id) or "en"
        return self._languages[admin_id]

    async def _remember_language(self, admin: Requester) -> None:
        if self._languages.get(admin.user_id) != admin.language:
            self._languages[admin.user_id] = admin.language
            await self._user_store.remember_language(admin.user_id, admin.language)

    def _chat_listed(self, chat_id: int) -> bool:
        """Whether the chat, or the group it was before an upgrade, is allowed."""
        return chat_id in self._chats or bool(self._chats & self._moves.earlier(chat_id))

    async def admit(self, requester: Requester, asked: Asked | None = None) -> None:
        """Raise `AccessDenied` if the requester may not use the bot.

        `asked` is the image request being refused, which the ledger records.
        """
        if requester.user_id in self._admins:
            await self._remember_language(requester)
        if await self.allows(requester.user_id, requester.chat_id):
            return
        request_id = await self._record(requester, asked) if asked is not None else None
        log.info(
            "request id=%s user=%d chat=%d status=denied",
            request_id if request_id is not None else "-",
            requester.user_id,
            requester.chat_id,
        )
        raise AccessDenied(requester.user_id)

    async def admit_admin(self, requester: Requester) -> None:
        """Admit an admin command: `AccessDenied` for outsiders first, then `NotAdmin`."""
        await self.admit(requester)
        if not self.is_admin(requester.user_id):
            raise NotAdmin(requester.user_id)

    async def set_limit(self, user_id: int, limit: int | None) -> None:
        """Give the user their own daily limit; None means unlimited."""
        await self._user_store.set_quota(user_id, limit)

    async def set_chat_limit(self, chat_id: int, limit: int | None) -> None:
        """Give the group its own daily image limit; None means unlimited (an upgraded
        group's old id names its new one)."""
        await self._chat_store.set_limit(self._moves.resolve(chat_id), limit)

    async def set_banned(self, user_id: int, banned: bool) -> None:
        """Ban or unban the user."""
        bans = await self._bans()
        await self._user_store.set_banned(user_id, banned)
        if banned:
            bans.add(user_id)
        else:
            bans.discard(user_id)

    async def _record(self, requester: Requester, asked: Asked) -> int:
        images = asked.images or ((asked.replied_image,) if asked.replied_image else ())
        return await self._requests.record(
            NewRequest(
                user_id=requester.user_id,
                username=requester.username,
                chat_id=requester.chat_id,
                chat_type=requester.chat_type,
                kind=JobKind.of(len(images)).value,
                model="",
                hd=False,
                prompt=asked.text,
                quota_day=self._quota.day(),
                inputs=images,
            ),
            Status.DENIED,
        )

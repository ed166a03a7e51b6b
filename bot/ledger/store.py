"""The usage ledger in SQLite: one row per request, per-user settings, pending images.

One aiosqlite connection in autocommit mode and WAL journal. Quota reservation is a
single `INSERT … SELECT … WHERE used + units <= limit` statement, so it is atomic however
many coroutines reserve at once; no lock, no read-then-write race.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.domain import Status, Usage
from bot.ledger.migrations import migrate

COUNTED = (Status.OK.value, Status.RESERVED.value)
SETTINGS_CACHE_SIZE = 10_000


def utc_now() -> str:
    """The current time as stored in the ledger (ISO 8601, UTC)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class NewRequest:
    """The facts of a request known before it runs."""

    user_id: int
    username: str | None
    chat_id: int
    chat_type: str
    kind: str
    model: str
    hd: bool
    prompt: str
    quota_day: str
    aspect_ratio: str | None = None
    inputs: tuple[str, ...] = ()
    reply_to: int | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Interrupted:
    """A request a crash cut off: where to say so."""

    chat_id: int
    reply_to: int | None
    language: str


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A ledger row as far as the bot needs to read it back."""

    id: int
    user_id: int
    chat_id: int
    kind: str
    model: str
    hd: bool
    prompt: str
    aspect_ratio: str | None
    inputs: tuple[str, ...]
    status: str
    error: str | None
    created_at: str


@dataclass(frozen=True, slots=True)
class UserSettings:
    """What an admin set for one user."""

    quota_limit: int | None = None
    unlimited: bool = False
    banned: bool = False


@dataclass(frozen=True, slots=True)
class Totals:
    """Counts over a set of rows."""

    requests: int = 0
    images: int = 0
    failures: int = 0
    cost: float = 0.0


@dataclass(frozen=True, slots=True)
class TopUser:
    """One line of the top-users table."""

    user_id: int
    username: str | None
    images: int
    cost: float


class Ledger:
    """Async access to the ledger database.

    One process owns the file: per-user settings are cached (every request reads them,
    only admin commands through this object change them). A read that overlapped a write
    is not cached, so the cache never holds a value older than the last write.
    """

    def __init__(self, db: aiosqlite.Connection, pending: set[tuple[int, int]]) -> None:
        self._db = db
        self._settings: OrderedDict[int, UserSettings] = OrderedDict()
        #: Writes per user, to tell whether a read overlapped one.
        self._writes: dict[int, int] = {}
        #: (user, chat) pairs with pending images, so most texts skip a query.
        self._pending = pending
        #: Keeps each change of the pending images whole: a take never lands mid-put.
        self._pending_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, migrate_upto: int | None = None) -> Ledger:
        """Open (creating folder and file if needed) and migrate the database."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA busy_timeout=5000")
            await db.execute("PRAGMA foreign_keys=ON")
            await migrate(db, migrate_upto)
            pending: set[tuple[int, int]] = set()
            if migrate_upto is None:
                await db.execute("DELETE FROM pending_images WHERE expires_at < ?", (time.time(),))
                async with db.execute(
                    "SELECT DISTINCT user_id, chat_id FROM pending_images"
                ) as cursor:
                    pending = {(int(r[0]), int(r[1])) async for r in cursor}
        except BaseException:
            await db.close()
            raise
        return cls(db, pending)

    async def close(self) -> None:
        """Close the connection."""
        await self._db.close()

    # -- requests ---------------------------------------------------------------

    async def reserve(self, request: NewRequest, units: int, limit: int | None) -> int | None:
        """Insert a `reserved` row if `units` more fit under `limit` today; its id or None.

        `limit=None` means unlimited.
        """
        values = self._values(request, Status.RESERVED, units)
        columns = ", ".join(values)
        params = [
            *values.values(),
            limit,
            request.user_id,
            request.quota_day,
            *COUNTED,
            units,
            limit,
        ]
        cursor = await self._db.execute(
            f"INSERT INTO requests ({columns}) "
            f"SELECT {', '.join('?' * len(values))} WHERE ? IS NULL OR "
            "(SELECT COALESCE(SUM(units), 0) FROM requests "
            " WHERE user_id = ? AND quota_day = ? AND status IN (?, ?)) + ? <= ?",
            params,
        )
        return cursor.lastrowid if cursor.rowcount == 1 else None

    async def record(self, request: NewRequest, status: Status, error: str | None = None) -> int:
        """Insert a finished row that reserved nothing (denied, over quota)."""
        values = self._values(request, status, 0)
        values["error"] = error
        values["finished_at"] = values["created_at"]
        cursor = await self._db.execute(
            f"INSERT INTO requests ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
            list(values.values()),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def settle(
        self,
        request_id: int,
        status: Status,
        *,
        error: str | None = None,
        usage: Usage | None = None,
        cost: float = 0.0,
        images: int = 0,
        latency_ms: int | None = None,
        bytes_delivered: int = 0,
    ) -> bool:
        """Finish a reserved row; anything but OK frees its units. False if not reserved."""
        usage = usage or Usage()
        cursor = await self._db.execute(
            "UPDATE requests SET status = ?, error = ?, units = CASE WHEN ? THEN units ELSE 0 END,"
            " prompt_tokens = ?, completion_tokens = ?, total_tokens = ?, cost = ?, images = ?,"
            " latency_ms = ?, bytes_delivered = ?, finished_at = ? WHERE id = ? AND status = ?",
            (
                status.value,
                error,
                status is Status.OK,
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens,
                cost,
                images,
                latency_ms,
                bytes_delivered,
                utc_now(),
                request_id,
                Status.RESERVED.value,
            ),
        )
        return cursor.rowcount == 1

    async def release_interrupted(
        self, reason: str = "interrupted by a restart"
    ) -> list[Interrupted]:
        """Fail the rows still reserved (left by a crash), freeing their units; whom to tell."""
        async with self._db.execute(
            "UPDATE requests SET status = ?, error = ?, units = 0, finished_at = ? "
            "WHERE status = ? RETURNING chat_id, reply_to, language",
            (Status.FAILED.value, reason, utc_now(), Status.RESERVED.value),
        ) as cursor:
            rows = await cursor.fetchall()
        return [Interrupted(int(r[0]), r[1], r[2] or "en") for r in rows]

    async def used_units(self, user_id: int, day: str) -> int:
        """Units counted against the user on `day` (successes and reservations)."""
        row = await self._one(
            "SELECT COALESCE(SUM(units), 0) FROM requests "
            "WHERE user_id = ? AND quota_day = ? AND status IN (?, ?)",
            (user_id, day, *COUNTED),
        )
        return int(row[0])

    async def request(self, request_id: int) -> StoredRequest | None:
        """One row by id."""
        async with self._db.execute(
            f"SELECT {_STORED_COLUMNS} FROM requests WHERE id = ?", (request_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return _stored(row) if row else None

    async def recent(self, user_id: int, limit: int = 5) -> list[StoredRequest]:
        """The user's latest rows, newest first."""
        async with self._db.execute(
            f"SELECT {_STORED_COLUMNS} FROM requests WHERE user_id = ? ORDER BY id DESC LIMIT ?",
            (user_id, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_stored(row) for row in rows]

    async def totals(self, *, user_id: int | None = None, day: str | None = None) -> Totals:
        """Requests, images, failures and cost, for one user and/or one day."""
        where, params = _filters(user_id=user_id, day=day)
        row = await self._one(
            "SELECT COUNT(*), COALESCE(SUM(images), 0), "
            "COALESCE(SUM(status = 'failed'), 0), COALESCE(SUM(cost), 0) "
            f"FROM requests {where}",
            params,
        )
        return Totals(int(row[0]), int(row[1]), int(row[2]), float(row[3]))

    async def top_users(self, *, day: str | None = None, limit: int = 5) -> list[TopUser]:
        """Users with the most images, for one day or all time."""
        where, params = _filters(day=day)
        async with self._db.execute(
            "SELECT user_id, MAX(username), COALESCE(SUM(images), 0) AS n, "
            f"COALESCE(SUM(cost), 0) FROM requests {where} "
            "GROUP BY user_id ORDER BY n DESC, user_id LIMIT ?",
            (*params, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [TopUser(int(r[0]), r[1], int(r[2]), float(r[3])) for r in rows]

    async def request_columns(self) -> list[str]:
        """The ledger's column names, in table order."""
        async with self._db.execute("SELECT name FROM pragma_table_info('requests')") as cursor:
            return [str(row[0]) for row in await cursor.fetchall()]

    async def rows_since(self, since: str) -> AsyncIterator[dict[str, Any]]:
        """Every column of every row created at or after `since` (ISO date), oldest first."""
        async with self._db.execute(
            "SELECT * FROM requests WHERE created_at >= ? ORDER BY id", (since,)
        ) as cursor:
            names = [d[0] for d in cursor.description]
            async for row in cursor:
                yield dict(zip(names, row, strict=True))

    # -- users ------------------------------------------------------------------

    async def user_settings(self, user_id: int) -> UserSettings:
        """An admin's settings for the user (defaults if none)."""
        cached = self._settings.get(user_id)
        if cached is not None:
            self._settings.move_to_end(user_id)
            return cached
        writes = self._writes.get(user_id, 0)
        async with self._db.execute(
            "SELECT quota_limit, quota_unlimited, banned FROM users WHERE user_id = ?",
            (user_id,),
        ) as cursor:
            row = await cursor.fetchone()
        settings = UserSettings(row[0], bool(row[1]), bool(row[2])) if row else UserSettings()
        if self._writes.get(user_id, 0) != writes:
            return settings  # a write overlapped this read: do not cache what it may undo
        self._settings[user_id] = settings
        if len(self._settings) > SETTINGS_CACHE_SIZE:
            self._settings.popitem(last=False)
        return settings

    async def set_quota(self, user_id: int, limit: int | None) -> None:
        """Give the user their own daily limit; None means unlimited."""
        await self._upsert_user(user_id, quota_limit=limit, quota_unlimited=int(limit is None))

    async def set_banned(self, user_id: int, banned: bool) -> None:
        """Ban or unban the user."""
        await self._upsert_user(user_id, banned=int(banned))

    async def _upsert_user(self, user_id: int, **fields: int | None) -> None:
        names = ", ".join(fields)
        updates = ", ".join(f"{name} = excluded.{name}" for name in fields)
        self._writes[user_id] = self._writes.get(user_id, 0) + 1
        self._settings.pop(user_id, None)
        await self._db.execute(
            f"INSERT INTO users (user_id, {names}, updated_at) "
            f"VALUES (?, {', '.join('?' * len(fields))}, ?) "
            f"ON CONFLICT (user_id) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
            (user_id, *fields.values(), utc_now()),
        )

    # -- pending images ---------------------------------------------------------

    async def put_pending(
        self, user_id: int, chat_id: int, file_ids: Sequence[str], *, now: float, ttl: float
    ) -> int:
        """Add images to the user's pending set in a chat, renewing its expiry; the count."""
        self._pending.add((user_id, chat_id))  # from here on, a take waits for these rows
        async with self._pending_lock:
            await self._db.execute(
                "DELETE FROM pending_images WHERE user_id = ? AND chat_id = ? AND expires_at < ?",
                (user_id, chat_id, now),
            )
            await self._db.executemany(
                "INSERT INTO pending_images (user_id, chat_id, file_id, expires_at) "
                "VALUES (?, ?, ?, ?)",
                [(user_id, chat_id, file_id, now + ttl) for file_id in file_ids],
            )
            await self._db.execute(
                "UPDATE pending_images SET expires_at = ? WHERE user_id = ? AND chat_id = ?",
                (now + ttl, user_id, chat_id),
            )
            row = await self._one(
                "SELECT COUNT(*) FROM pending_images WHERE user_id = ? AND chat_id = ?",
                (user_id, chat_id),
            )
            self._pending.add((user_id, chat_id))  # again: a take queued before us cleared it
        return int(row[0])

    async def take_pending(self, user_id: int, chat_id: int, now: float) -> list[str]:
        """Remove and return the user's unexpired pending images in a chat, in order."""
        if (user_id, chat_id) not in self._pending:
            return []
        async with self._pending_lock:
            self._pending.discard((user_id, chat_id))
            async with self._db.execute(
                "DELETE FROM pending_images WHERE user_id = ? AND chat_id = ? "
                "RETURNING id, file_id, expires_at",
                (user_id, chat_id),
            ) as cursor:
                rows = await cursor.fetchall()
        return [str(r[1]) for r in sorted(rows) if float(r[2]) >= now]

    async def drop_pending(self, user_id: int, chat_id: int) -> int:
        """Forget the user's pending images in a chat; how many there were."""
        async with self._pending_lock:
            self._pending.discard((user_id, chat_id))
            cursor = await self._db.execute(
                "DELETE FROM pending_images WHERE user_id = ? AND chat_id = ?", (user_id, chat_id)
            )
        return cursor.rowcount

    # -- helpers ----------------------------------------------------------------

    @staticmethod
    def _values(request: NewRequest, status: Status, units: int) -> dict[str, Any]:
        return {
            "user_id": request.user_id,
            "username": request.username,
            "chat_id": request.chat_id,
            "chat_type": request.chat_type,
            "kind": request.kind,
            "model": request.model,
            "hd": int(request.hd),
            "input_images": len(request.inputs),
            "prompt": request.prompt,
            "aspect_ratio": request.aspect_ratio,
            "inputs": json.dumps(list(request.inputs)) if request.inputs else None,
            "reply_to": request.reply_to,
            "language": request.language,
            "status": status.value,
            "units": units,
            "quota_day": request.quota_day,
            "created_at": utc_now(),
        }

    async def _one(self, sql: str, params: Sequence[Any]) -> aiosqlite.Row:
        async with self._db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return row


_STORED_COLUMNS = (
    "id, user_id, chat_id, kind, model, hd, prompt, aspect_ratio, inputs, status, error, created_at"
)


def _stored(row: aiosqlite.Row) -> StoredRequest:
    inputs = tuple(json.loads(row[8])) if row[8] else ()
    return StoredRequest(
        int(row[0]),
        int(row[1]),
        int(row[2]),
        str(row[3]),
        str(row[4]),
        bool(row[5]),
        str(row[6]),
        row[7],
        inputs,
        str(row[9]),
        row[10],
        str(row[11]),
    )


def _filters(*, user_id: int | None = None, day: str | None = None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if user_id is not None:
        clauses.append("user_id = ?")
        params.append(user_id)
    if day is not None:
        clauses.append("quota_day = ?")
        params.append(day)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params

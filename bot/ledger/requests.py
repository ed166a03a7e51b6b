"""The request log: one row per request, and the quota units it holds.

Reservation (`bot.ledger.spending`) is a single `INSERT … SELECT … WHERE` statement; a
reserved row holds what it took until `settle` frees it (anything but `ok`) or keeps it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from bot.domain import (
    Destination,
    Interrupted,
    NewRequest,
    Settlement,
    Status,
    StoredRequest,
    TopUser,
    Totals,
    Usage,
)
from bot.ledger.rows import fetch_all, fetch_one, fetch_sums

#: What a reserved row holds until it settles: kept if `ok`, freed otherwise.
HELD = ("units", "credits", "group_images", "price_micros")
#: Rows whose units count against the day's quota.
COUNTED = (Status.OK.value, Status.RESERVED.value)
_STORED = (
    "id, user_id, chat_id, kind, model, hd, prompt, aspect_ratio, inputs, status, error, created_at"
)


def utc_now() -> str:
    """The current time as stored in the ledger (ISO 8601, UTC)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RequestLog:
    """The `requests` table."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def record(self, request: NewRequest, status: Status, error: str | None = None) -> int:
        """Insert a finished row that reserved nothing (denied, over quota)."""
        values = row_values(request, status)
        values["error"] = error
        values["finished_at"] = values["created_at"]
        cursor = await self._db.execute(
            f"INSERT INTO requests ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
            list(values.values()),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def settle(self, request_id: int, outcome: Settlement) -> bool:
        """Finish a reserved row; anything but OK frees what it held. False if not reserved."""
        usage = outcome.usage or Usage()
        kept = ", ".join(f"{held} = CASE WHEN :ok THEN {held} ELSE 0 END" for held in HELD)
        cursor = await self._db.execute(
            f"UPDATE requests SET status = :status, error = :error, {kept},"
            " prompt_tokens = :prompt_tokens, completion_tokens = :completion_tokens,"
            " total_tokens = :total_tokens, cost = :cost, images = :images,"
            " latency_ms = :latency_ms, bytes_delivered = :bytes_delivered,"
            " finished_at = :finished_at WHERE id = :id AND status = :reserved",
            {
                "status": outcome.status.value,
                "error": outcome.error,
                "ok": outcome.status is Status.OK,
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
                "cost": outcome.cost,
                "images": outcome.images,
                "latency_ms": outcome.latency_ms,
                "bytes_delivered": outcome.bytes_delivered,
                "finished_at": utc_now(),
                "id": request_id,
                "reserved": Status.RESERVED.value,
            },
        )
        return cursor.rowcount == 1

    async def release_interrupted(
        self, reason: str = "interrupted by a restart"
    ) -> list[Interrupted]:
        """Fail the rows still reserved (left by a crash), freeing their units; whom to tell."""
        rows = await fetch_all(
            self._db,
            f"UPDATE requests SET status = ?, error = ?, {', '.join(f'{h} = 0' for h in HELD)},"
            " finished_at = ? WHERE status = ? RETURNING chat_id, reply_to, thread_id, language",
            (Status.FAILED.value, reason, utc_now(), Status.RESERVED.value),
        )
        return [
            Interrupted(
                Destination(r["chat_id"], r["reply_to"], r["thread_id"]), r["language"] or "en"
            )
            for r in rows
        ]

    async def get(self, request_id: int) -> StoredRequest | None:
        """One row by id."""
        row = await fetch_one(
            self._db, f"SELECT {_STORED} FROM requests WHERE id = ?", (request_id,)
        )
        return _stored(row) if row else None

    async def recent(self, user_id: int, limit: int = 5) -> list[StoredRequest]:
        """The user's latest rows, newest first."""
        rows = await fetch_all(
            self._db,
            f"SELECT {_STORED} FROM requests WHERE user_id = ? ORDER BY id DESC LIMIT ?",
            (user_id, limit),
        )
        return [_stored(row) for row in rows]

    async def totals(self, *, user_id: int | None = None, day: str | None = None) -> Totals:
        """Requests, images, failures and cost, for one user and/or one day."""
        where, params = _filters(user_id=user_id, day=day)
        row = await fetch_sums(
            self._db,
            "SELECT COUNT(*) AS requests, COALESCE(SUM(images), 0) AS images, "
            "COALESCE(SUM(status = 'failed'), 0) AS failures, COALESCE(SUM(cost), 0) AS cost "
            f"FROM requests {where}",
            params,
        )
        return Totals(row["requests"], row["images"], row["failures"], float(row["cost"]))

    async def top_users(self, *, day: str | None = None, limit: int = 5) -> list[TopUser]:
        """Users with the most images, for one day or all time."""
        where, params = _filters(day=day)
        rows = await fetch_all(
            self._db,
            "SELECT user_id, MAX(username) AS username, COALESCE(SUM(images), 0) AS images, "
            f"COALESCE(SUM(cost), 0) AS cost FROM requests {where} "
            "GROUP BY user_id ORDER BY images DESC, user_id LIMIT ?",
            (*params, limit),
        )
        return [TopUser(r["user_id"], r["username"], r["images"], float(r["cost"])) for r in rows]

    async def columns(self) -> list[str]:
        """The table's column names, in table order."""
        rows = await fetch_all(self._db, "SELECT name FROM pragma_table_info('requests')")
        return [str(row["name"]) for row in rows]

    async def rows_since(self, since: str) -> AsyncIterator[dict[str, Any]]:
        """Every column of every row created at or after `since` (ISO date), oldest first."""
        async with self._db.execute(
            "SELECT * FROM requests WHERE created_at >= ? ORDER BY id", (since,)
        ) as cursor:
            async for row in cursor:
                yield dict(zip(row.keys(), row, strict=True))


def row_values(request: NewRequest, status: Status) -> dict[str, Any]:
    """The columns of a new row for `request` (what it reserves is added by the caller)."""
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
        "thread_id": request.thread_id,
        "language": request.language,
        "status": status.value,
        "quota_day": request.quota_day,
        "created_at": utc_now(),
    }


def _stored(row: aiosqlite.Row) -> StoredRequest:
    return StoredRequest(
        id=row["id"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        kind=row["kind"],
        model=row["model"],
        hd=bool(row["hd"]),
        prompt=row["prompt"],
        aspect_ratio=row["aspect_ratio"],
        inputs=tuple(json.loads(row["inputs"])) if row["inputs"] else (),
        status=row["status"],
        error=row["error"],
        created_at=row["created_at"],
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

"""Numbered schema migrations, recorded in the database itself.

Each entry upgrades the schema from the previous version; `schema_migrations` holds the
versions already applied, so a newer bot opens an older file and brings it up to date.
Never edit a migration that has shipped: add the next one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS: tuple[str, ...] = (
    # 1: the request ledger and per-user settings
    """
    CREATE TABLE requests (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id           INTEGER NOT NULL,
        username          TEXT,
        chat_id           INTEGER NOT NULL,
        chat_type         TEXT NOT NULL,
        kind              TEXT NOT NULL,
        model             TEXT NOT NULL,
        input_images      INTEGER NOT NULL DEFAULT 0,
        prompt            TEXT NOT NULL DEFAULT '',
        status            TEXT NOT NULL,
        error             TEXT,
        units             INTEGER NOT NULL DEFAULT 0,
        quota_day         TEXT NOT NULL,
        prompt_tokens     INTEGER,
        completion_tokens INTEGER,
        total_tokens      INTEGER,
        cost              REAL NOT NULL DEFAULT 0,
        images            INTEGER NOT NULL DEFAULT 0,
        latency_ms        INTEGER,
        bytes_delivered   INTEGER NOT NULL DEFAULT 0,
        created_at        TEXT NOT NULL,
        finished_at       TEXT
    );
    CREATE INDEX requests_user_day ON requests (user_id, quota_day, status);
    CREATE INDEX requests_day ON requests (quota_day);
    CREATE TABLE users (
        user_id         INTEGER PRIMARY KEY,
        quota_limit     INTEGER,
        quota_unlimited INTEGER NOT NULL DEFAULT 0,
        banned          INTEGER NOT NULL DEFAULT 0,
        updated_at      TEXT NOT NULL
    );
    """,
    # 2: what a result button needs to run its request again
    """
    ALTER TABLE requests ADD COLUMN hd INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE requests ADD COLUMN aspect_ratio TEXT;
    ALTER TABLE requests ADD COLUMN inputs TEXT;
    """,
    # 3: images waiting for their instruction
    """
    CREATE TABLE pending_images (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id    INTEGER NOT NULL,
        chat_id    INTEGER NOT NULL,
        file_id    TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE INDEX pending_images_owner ON pending_images (user_id, chat_id);
    """,
    # 4: whom to tell when a crash cut a request off
    """
    ALTER TABLE requests ADD COLUMN reply_to INTEGER;
    ALTER TABLE requests ADD COLUMN language TEXT;
    CREATE INDEX requests_status ON requests (status);
    """,
    # 5: forum topics, and groups that became supergroups
    """
    ALTER TABLE requests ADD COLUMN thread_id INTEGER;
    ALTER TABLE pending_images ADD COLUMN thread_id INTEGER NOT NULL DEFAULT 0;
    DROP INDEX pending_images_owner;
    CREATE INDEX pending_images_owner ON pending_images (user_id, chat_id, thread_id);
    CREATE TABLE chat_moves (
        old_id   INTEGER PRIMARY KEY,
        new_id   INTEGER NOT NULL,
        moved_at TEXT NOT NULL
    );
    """,
    # 6: money: credits bought with Stars, what each request holds, group limits
    """
    ALTER TABLE requests ADD COLUMN credits INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE requests ADD COLUMN group_images INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE requests ADD COLUMN price_micros INTEGER NOT NULL DEFAULT 0;
    UPDATE requests SET price_micros = CAST(ROUND(cost * 1000000) AS INTEGER)
        WHERE status = 'ok';
    CREATE INDEX requests_chat_day ON requests (chat_id, quota_day, status);
    CREATE INDEX requests_user_status ON requests (user_id, status);
    ALTER TABLE users ADD COLUMN language TEXT;
    CREATE TABLE chats (
        chat_id         INTEGER PRIMARY KEY,
        quota_limit     INTEGER,
        quota_unlimited INTEGER NOT NULL DEFAULT 0,
        updated_at      TEXT NOT NULL
    );
    CREATE TABLE payments (
        charge_id          TEXT PRIMARY KEY,
        provider_charge_id TEXT NOT NULL DEFAULT '',
        user_id            INTEGER NOT NULL,
        images             INTEGER NOT NULL,
        stars              INTEGER NOT NULL,
        payload            TEXT NOT NULL,
        status             TEXT NOT NULL DEFAULT 'paid',
        clawed_back        INTEGER NOT NULL DEFAULT 0,
        created_at         TEXT NOT NULL,
        refunded_at        TEXT
    );
    CREATE INDEX payments_user ON payments (user_id);
    """,
)


async def migrate(db: aiosqlite.Connection, upto: int | None = None) -> int:
    """Apply every migration not yet recorded (or only up to `upto`); return the version."""
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    async with db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") as cur:
        row = await cur.fetchone()
    current = int(row[0]) if row else 0
    target = len(MIGRATIONS) if upto is None else upto
    for version in range(current + 1, target + 1):
        script = MIGRATIONS[version - 1]
        applied_at = datetime.now(UTC).isoformat()
        try:
            await db.executescript(
                f"BEGIN IMMEDIATE;\n{script}\n"
                f"INSERT INTO schema_migrations (version, applied_at) "
                f"VALUES ({version}, '{applied_at}');\nCOMMIT;"
            )
        except Exception:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise
        log.info("ledger schema migrated to version %d", version)
    return max(current, target)

"""The metadata database: schema and the open function.

Every concern keeps its DDL in ``SCHEMA`` below; every statement is idempotent
(``CREATE ... IF NOT EXISTS``) and written for both SQLite and PostgreSQL through
the ``{pk}``, ``{float}`` and ``{big}`` placeholders.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from riskwatch.storage.db import Database

SCHEMA_VERSION = 1  # bump with a migration when a statement changes an existing table

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS rw_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS ingestions (
        id {pk}, source TEXT NOT NULL, unit TEXT NOT NULL, content_hash TEXT,
        watermark_from TEXT, watermark_to TEXT,
        rows_read {big} NOT NULL DEFAULT 0, rows_accepted {big} NOT NULL DEFAULT 0,
        rows_quarantined {big} NOT NULL DEFAULT 0, rows_duplicate {big} NOT NULL DEFAULT 0,
        status TEXT NOT NULL, message TEXT, quarantine_path TEXT, dataset_version INTEGER,
        started_at TEXT NOT NULL, finished_at TEXT NOT NULL, duration_s {float} NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS ix_ingestions_hash ON ingestions (source, content_hash)""",
    """CREATE TABLE IF NOT EXISTS file_hashes (
        source TEXT NOT NULL, path TEXT NOT NULL, size {big} NOT NULL, mtime_ns {big} NOT NULL,
        content_hash TEXT NOT NULL, PRIMARY KEY (source, path))""",
    """CREATE TABLE IF NOT EXISTS watermarks (
        source TEXT PRIMARY KEY, value TEXT NOT NULL, kind TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS dataset_versions (
        version INTEGER PRIMARY KEY, created_at TEXT NOT NULL, rows {big} NOT NULL,
        fingerprint TEXT NOT NULL, parts TEXT NOT NULL, schema TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS step_timings (
        id {pk}, run_id INTEGER, step TEXT NOT NULL, started_at TEXT NOT NULL,
        duration_s {float} NOT NULL, detail TEXT)""",
    """CREATE INDEX IF NOT EXISTS ix_step_timings_step ON step_timings (step, started_at)""",
)

_TYPES = {
    "sqlite": {"pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "float": "REAL", "big": "INTEGER"},
    "postgresql": {"pk": "BIGSERIAL PRIMARY KEY", "float": "DOUBLE PRECISION", "big": "BIGINT"},
}


def now() -> str:
    """The current UTC time as ISO-8601 text (sortable, portable)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def open_metadata(url: str) -> Database:
    """Connect to the metadata database and make sure its tables exist."""
    db = Database(url)
    version = f"{SCHEMA_VERSION}:{hashlib.sha256(''.join(SCHEMA).encode()).hexdigest()[:16]}"
    try:
        current = db.scalar("SELECT value FROM rw_meta WHERE key = 'schema'")
    except Exception:
        current = None
    if current != version:
        types = _TYPES[db.dialect]
        with db.transaction():
            for stmt in SCHEMA:
                db.execute(stmt.format(**types))
            db.execute("DELETE FROM rw_meta WHERE key = 'schema'")
            db.execute("INSERT INTO rw_meta (key, value) VALUES ('schema', :v)", {"v": version})
    return db

"""The metadata database: schema and the open function.

Every concern keeps its DDL in ``SCHEMA`` below; every statement is idempotent
(``CREATE ... IF NOT EXISTS``) and written for both SQLite and PostgreSQL through
the ``{pk}``, ``{float}`` and ``{big}`` placeholders.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from riskwatch.storage.db import Database

SCHEMA_VERSION = 2  # bump with a migration when a statement changes an existing table

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS rw_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS ingestions (
        id {pk}, source TEXT NOT NULL, unit TEXT NOT NULL, content_hash TEXT,
        watermark_from TEXT, watermark_to TEXT,
        rows_read {big} NOT NULL DEFAULT 0, rows_accepted {big} NOT NULL DEFAULT 0,
        rows_quarantined {big} NOT NULL DEFAULT 0, rows_duplicate {big} NOT NULL DEFAULT 0,
        status TEXT NOT NULL, message TEXT, quarantine_path TEXT, dataset_version INTEGER,
        started_at TEXT NOT NULL, finished_at TEXT NOT NULL, duration_s {float} NOT NULL,
        rows_reread {big} NOT NULL DEFAULT 0, rows_late {big} NOT NULL DEFAULT 0,
        rows_null_watermark {big} NOT NULL DEFAULT 0, contract TEXT)""",
    """CREATE INDEX IF NOT EXISTS ix_ingestions_hash ON ingestions (source, content_hash)""",
    """CREATE TABLE IF NOT EXISTS file_hashes (
        source TEXT NOT NULL, path TEXT NOT NULL, size {big} NOT NULL, mtime_ns {big} NOT NULL,
        content_hash TEXT NOT NULL, inode {big}, ctime_ns {big}, PRIMARY KEY (source, path))""",
    """CREATE TABLE IF NOT EXISTS watermarks (
        source TEXT PRIMARY KEY, value TEXT NOT NULL, kind TEXT NOT NULL, updated_at TEXT NOT NULL,
        window_rows {big}, below_rows {big}, null_rows {big}, late_rows {big} NOT NULL DEFAULT 0)""",
    # raw-row hashes of rows a SQL source quarantined, so a look-back re-read does not count them twice
    """CREATE TABLE IF NOT EXISTS quarantined_rows (
        source TEXT NOT NULL, row_hash TEXT NOT NULL, PRIMARY KEY (source, row_hash))""",
    """CREATE TABLE IF NOT EXISTS dataset_versions (
        version INTEGER PRIMARY KEY, created_at TEXT NOT NULL, rows {big} NOT NULL,
        fingerprint TEXT NOT NULL, parts TEXT NOT NULL, schema TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS step_timings (
        id {pk}, run_id INTEGER, step TEXT NOT NULL, started_at TEXT NOT NULL,
        duration_s {float} NOT NULL, detail TEXT)""",
    """CREATE INDEX IF NOT EXISTS ix_step_timings_step ON step_timings (step, started_at)""",
    # registry (registry.py): model versions, their metrics, aliases with history, deploy decisions
    """CREATE TABLE IF NOT EXISTS models (
        version INTEGER PRIMARY KEY, created_at TEXT NOT NULL, dataset_version INTEGER,
        dataset_fingerprint TEXT, kind TEXT NOT NULL, artifact TEXT NOT NULL, sha256 TEXT NOT NULL,
        card TEXT NOT NULL, eval_set TEXT)""",
    """CREATE TABLE IF NOT EXISTS model_metrics (
        id {pk}, model_version INTEGER NOT NULL, eval_set TEXT NOT NULL, eval_fingerprint TEXT,
        rows {big} NOT NULL, metrics TEXT NOT NULL, computed_at TEXT NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS ix_model_metrics ON model_metrics (model_version, eval_set)""",
    """CREATE TABLE IF NOT EXISTS aliases (
        alias TEXT PRIMARY KEY, version INTEGER NOT NULL, updated_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS alias_history (
        id {pk}, alias TEXT NOT NULL, version INTEGER, previous INTEGER, actor TEXT NOT NULL,
        reason TEXT NOT NULL, at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS deployments (
        id {pk}, candidate INTEGER NOT NULL, champion INTEGER, metric TEXT NOT NULL,
        candidate_score {float}, champion_score {float}, eval_set TEXT, decision TEXT NOT NULL,
        reason TEXT NOT NULL, forced INTEGER NOT NULL DEFAULT 0, actor TEXT, at TEXT NOT NULL)""",
    # monitoring (monitoring/): every drift check, and the call lists it compares
    """CREATE TABLE IF NOT EXISTS drift_checks (
        id {pk}, run_id INTEGER, batch TEXT NOT NULL, model_version INTEGER, verdict TEXT NOT NULL,
        retrain INTEGER NOT NULL DEFAULT 0, reasons TEXT NOT NULL, result TEXT NOT NULL,
        checked_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS call_lists (
        id {pk}, model_version INTEGER, dataset_version INTEGER, created_at TEXT NOT NULL,
        top_ids TEXT NOT NULL)""",
    # diagnostics (diagnostics.py): stored results the API serves instantly
    """CREATE TABLE IF NOT EXISTS diagnostics (
        id {pk}, kind TEXT NOT NULL, dataset_version INTEGER, created_at TEXT NOT NULL,
        payload TEXT NOT NULL)""",
    # pipeline (pipeline.py): run history
    """CREATE TABLE IF NOT EXISTS runs (
        id {pk}, started_at TEXT NOT NULL, finished_at TEXT, trigger TEXT NOT NULL,
        status TEXT NOT NULL, outcome TEXT, message TEXT, pid INTEGER, detail TEXT)""",
    """CREATE TABLE IF NOT EXISTS run_steps (
        id {pk}, run_id INTEGER NOT NULL, step TEXT NOT NULL, started_at TEXT NOT NULL,
        duration_s {float}, decision TEXT, detail TEXT)""",
    # alerts (storage/alerts.py): conditions followed from open to resolved, what each channel
    # was told, every notification and delivery attempt, silences
    """CREATE TABLE IF NOT EXISTS alert_conditions (
        id {pk}, key TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL,
        severity TEXT NOT NULL, message TEXT NOT NULL, detail TEXT NOT NULL,
        opened_at TEXT NOT NULL, resolved_at TEXT, next_due_at TEXT)""",
    """CREATE INDEX IF NOT EXISTS ix_alert_conditions_key ON alert_conditions (key, resolved_at)""",
    """CREATE TABLE IF NOT EXISTS alert_marks (
        condition_id INTEGER NOT NULL, channel TEXT NOT NULL, told TEXT, told_at TEXT,
        failures INTEGER NOT NULL DEFAULT 0, retry_at TEXT, PRIMARY KEY (condition_id, channel))""",
    """CREATE TABLE IF NOT EXISTS alert_notifications (
        id {pk}, at TEXT NOT NULL, origin TEXT NOT NULL, run_id INTEGER, title TEXT NOT NULL,
        events TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS alert_deliveries (
        id {pk}, notification_id INTEGER NOT NULL, channel TEXT NOT NULL, target TEXT NOT NULL,
        status TEXT NOT NULL, attempts INTEGER NOT NULL, seconds {float} NOT NULL, error TEXT,
        events TEXT NOT NULL, at TEXT NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS ix_alert_deliveries_channel ON alert_deliveries (channel, id)""",
    """CREATE TABLE IF NOT EXISTS alert_silences (
        id {pk}, pattern TEXT NOT NULL, until_at TEXT NOT NULL, reason TEXT NOT NULL,
        created_by TEXT NOT NULL, created_at TEXT NOT NULL, lifted_at TEXT, lifted_by TEXT)""",
)

# Columns added after a table was first released: (table, column, type). ``CREATE TABLE`` above
# already has them for new workspaces; :func:`_add_columns` adds them to older ones.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("ingestions", "rows_reread", "{big} NOT NULL DEFAULT 0"),
    ("ingestions", "rows_late", "{big} NOT NULL DEFAULT 0"),
    ("ingestions", "rows_null_watermark", "{big} NOT NULL DEFAULT 0"),
    ("ingestions", "contract", "TEXT"),
    ("file_hashes", "inode", "{big}"),
    ("file_hashes", "ctime_ns", "{big}"),
    ("watermarks", "window_rows", "{big}"),
    ("watermarks", "below_rows", "{big}"),
    ("watermarks", "null_rows", "{big}"),
    ("watermarks", "late_rows", "{big} NOT NULL DEFAULT 0"),
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
    text = "".join(SCHEMA) + repr(ADDED_COLUMNS)
    version = f"{SCHEMA_VERSION}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    try:
        current = db.scalar("SELECT value FROM rw_meta WHERE key = 'schema'")
    except Exception:
        current = None
    if current != version:
        types = _TYPES[db.dialect]
        with db.transaction():
            for stmt in SCHEMA:
                db.execute(stmt.format(**types))
            _add_columns(db, types)
            db.execute("DELETE FROM rw_meta WHERE key = 'schema'")
            db.execute("INSERT INTO rw_meta (key, value) VALUES ('schema', :v)", {"v": version})
    return db


def _add_columns(db: Database, types: dict[str, str]) -> None:
    """Add the columns of :data:`ADDED_COLUMNS` that an older workspace lacks (idempotent)."""
    for table in dict.fromkeys(t for t, _, _ in ADDED_COLUMNS):
        if db.dialect == "sqlite":
            rows = db.execute("SELECT name FROM pragma_table_info(:t)", {"t": table})
        else:
            rows = db.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = :t",
                {"t": table},
            )
        have = {r[0] for r in rows}
        for _, column, kind in (c for c in ADDED_COLUMNS if c[0] == table):
            if column not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind.format(**types)}")

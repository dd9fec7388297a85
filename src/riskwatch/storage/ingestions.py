"""Ingestion bookkeeping in the metadata database: what was ingested, file hashes, watermarks.

Light (no heavy imports): the cron fast path asks these to find new data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskwatch.storage.metadata import now

if TYPE_CHECKING:
    from riskwatch.storage.db import Database

INGESTION_KEYS = (
    "source",
    "unit",
    "content_hash",
    "watermark_from",
    "watermark_to",
    "rows_read",
    "rows_accepted",
    "rows_quarantined",
    "rows_duplicate",
    "status",
    "message",
    "quarantine_path",
    "dataset_version",
    "started_at",
    "finished_at",
    "duration_s",
)


def record_ingestion(db: Database, row: dict[str, Any]) -> None:
    """Store what happened to one unit (in the caller's transaction)."""
    db.execute(
        f"INSERT INTO ingestions ({', '.join(INGESTION_KEYS)}) "
        f"VALUES ({', '.join(':' + k for k in INGESTION_KEYS)})",
        {k: row.get(k) for k in INGESTION_KEYS},
    )


def recent_ingestions(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    """The latest ingestion records, newest first."""
    rows = db.execute(
        f"SELECT {', '.join(INGESTION_KEYS)} FROM ingestions ORDER BY id DESC LIMIT :n",
        {"n": limit},
    )
    return [dict(zip(INGESTION_KEYS, r, strict=True)) for r in rows]


def settled_hashes(db: Database) -> set[str]:
    """Content hashes of units already ingested or rejected as they are."""
    return {
        r[0]
        for r in db.execute(
            "SELECT DISTINCT content_hash FROM ingestions "
            "WHERE content_hash IS NOT NULL AND status IN ('ingested', 'rejected')"
        )
    }


def file_hash_cache(db: Database, source: str) -> dict[str, tuple[int, int, str]]:
    """Path -> (size, mtime_ns, content hash) as last seen in a folder source."""
    return {
        r[0]: (int(r[1]), int(r[2]), r[3])
        for r in db.execute(
            "SELECT path, size, mtime_ns, content_hash FROM file_hashes WHERE source = :s",
            {"s": source},
        )
    }


def cache_file_hash(
    db: Database, source: str, path: str, *, size: int, mtime_ns: int, content_hash: str
) -> None:
    """Remember a file's hash by path, size and mtime (in the caller's transaction)."""
    db.execute("DELETE FROM file_hashes WHERE source = :s AND path = :p", {"s": source, "p": path})
    db.execute(
        "INSERT INTO file_hashes (source, path, size, mtime_ns, content_hash) "
        "VALUES (:s, :p, :size, :m, :h)",
        {"s": source, "p": path, "size": size, "m": mtime_ns, "h": content_hash},
    )


def watermark(db: Database, source: str) -> tuple[str, str] | None:
    """The stored ``(value, kind)`` of a SQL source's last ingested watermark, if any."""
    rows = db.execute("SELECT value, kind FROM watermarks WHERE source = :s", {"s": source})
    return (rows[0][0], rows[0][1]) if rows else None


def set_watermark(db: Database, source: str, value: str, kind: str) -> None:
    """Store a SQL source's watermark (in the caller's transaction)."""
    db.execute("DELETE FROM watermarks WHERE source = :s", {"s": source})
    db.execute(
        "INSERT INTO watermarks (source, value, kind, updated_at) VALUES (:s, :v, :k, :t)",
        {"s": source, "v": value, "k": kind, "t": now()},
    )


def last_ingestion_batch(db: Database) -> list[dict[str, Any]]:
    """The units of the newest ingestion call (they share its finish time)."""
    newest = db.scalar("SELECT MAX(finished_at) FROM ingestions")
    if newest is None:
        return []
    rows = db.execute(
        f"SELECT {', '.join(INGESTION_KEYS)} FROM ingestions WHERE finished_at = :t ORDER BY id",
        {"t": newest},
    )
    return [dict(zip(INGESTION_KEYS, r, strict=True)) for r in rows]


def open_rejections(db: Database) -> list[dict[str, Any]]:
    """Rejected units not ingested since (by source and unit name), oldest first."""
    rows = db.execute(
        f"SELECT {', '.join('r.' + k for k in INGESTION_KEYS)} FROM ingestions r "
        "WHERE r.status = 'rejected' AND NOT EXISTS (SELECT 1 FROM ingestions i "
        "WHERE i.source = r.source AND i.unit = r.unit AND i.status = 'ingested' AND i.id > r.id) "
        "AND r.id = (SELECT MAX(x.id) FROM ingestions x WHERE x.source = r.source "
        "AND x.unit = r.unit) ORDER BY r.id"
    )
    return [dict(zip(INGESTION_KEYS, r, strict=True)) for r in rows]


def row_totals(db: Database) -> dict[str, int]:
    """Rows ever accepted, quarantined and rejected (rows of units rejected whole), and how
    many units were rejected."""
    row = db.execute(
        "SELECT COALESCE(SUM(rows_accepted), 0), COALESCE(SUM(rows_quarantined), 0), "
        "COALESCE(SUM(CASE WHEN status = 'rejected' THEN rows_read ELSE 0 END), 0), "
        "COUNT(CASE WHEN status = 'rejected' THEN 1 END) FROM ingestions"
    )[0]
    keys = ("accepted", "quarantined", "rejected", "units_rejected")
    return {k: int(v) for k, v in zip(keys, row, strict=True)}

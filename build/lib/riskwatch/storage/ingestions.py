"""Ingestion bookkeeping in the metadata database: what was ingested, file hashes, watermarks.

Light (no heavy imports): the cron fast path asks these to find new data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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
    "rows_reread",
    "rows_late",
    "rows_null_watermark",
    "status",
    "message",
    "quarantine_path",
    "dataset_version",
    "contract",
    "started_at",
    "finished_at",
    "duration_s",
)


def record_ingestion(db: Database, row: dict[str, Any]) -> None:
    """Store what happened to one unit (in the caller's transaction)."""
    db.execute(
        f"INSERT INTO ingestions ({', '.join(INGESTION_KEYS)}) "
        f"VALUES ({', '.join(':' + k for k in INGESTION_KEYS)})",
        {k: row.get(k, 0 if k.startswith("rows_") else None) for k in INGESTION_KEYS},
    )


def recent_ingestions(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    """The latest ingestion records, newest first."""
    rows = db.execute(
        f"SELECT {', '.join(INGESTION_KEYS)} FROM ingestions ORDER BY id DESC LIMIT :n",
        {"n": limit},
    )
    return [dict(zip(INGESTION_KEYS, r, strict=True)) for r in rows]


def settled_hashes(db: Database, *, contract: str | None = None, retry: bool = False) -> set[str]:
    """Content hashes of units that need no new look.

    A unit ingested once is settled for good. A unit rejected is settled only while the
    contract it was judged by (its fingerprint, ``contract``) is unchanged, and never when
    ``retry`` asks to re-examine every rejected unit.
    """
    if retry:
        where, params = "status = 'ingested'", {}
    else:
        where = "(status = 'ingested' OR (status = 'rejected' AND contract = :c))"
        params = {"c": contract or ""}
    return {
        r[0]
        for r in db.execute(
            f"SELECT DISTINCT content_hash FROM ingestions WHERE content_hash IS NOT NULL AND {where}",
            params,
        )
    }


@dataclass(frozen=True)
class FileStamp:
    """What a cheap ``stat`` says about a file: a change to the content changes one of these."""

    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int


def file_hash_cache(db: Database, source: str) -> dict[str, tuple[FileStamp, str]]:
    """Path -> (stamp, content hash) as last seen in a folder source.

    Rows cached before inodes and ctimes were recorded never match a real stamp (inode -1),
    so such files are hashed once more.
    """
    return {
        r[0]: (
            FileStamp(int(r[1]), int(r[2]), -1 if r[3] is None else int(r[3]), int(r[4] or -1)),
            r[5],
        )
        for r in db.execute(
            "SELECT path, size, mtime_ns, inode, ctime_ns, content_hash FROM file_hashes "
            "WHERE source = :s",
            {"s": source},
        )
    }


def cache_file_hashes(
    db: Database, source: str, entries: Iterable[tuple[str, FileStamp, str]]
) -> None:
    """Remember files' hashes by path and stamp (joins the caller's transaction, if any)."""
    rows = [
        {
            "s": source,
            "p": path,
            "size": st.size,
            "m": st.mtime_ns,
            "i": st.inode,
            "c": st.ctime_ns,
            "h": digest,
        }
        for path, st, digest in entries
    ]
    if not rows:
        return
    with db.transaction():
        db.executemany("DELETE FROM file_hashes WHERE source = :s AND path = :p", rows)
        db.executemany(
            "INSERT INTO file_hashes (source, path, size, mtime_ns, inode, ctime_ns, content_hash) "
            "VALUES (:s, :p, :size, :m, :i, :c, :h)",
            rows,
        )


@dataclass(frozen=True)
class WatermarkState:
    """What a SQL source knew after its last read.

    ``window_rows``, ``below_rows`` and ``null_rows`` count the rows inside the look-back window
    of ``value``, below it, and with no watermark at all, as that read saw them; a later change
    in these counts is what reveals rows that arrived late. ``late_rows`` counts rows found below
    the window since the last full read (they are only picked up by ``ingest --retry``).
    Counts are None when unknown (a workspace from before they were recorded).
    """

    value: str
    kind: str
    window_rows: int | None = None
    below_rows: int | None = None
    null_rows: int | None = None
    late_rows: int = 0


def watermark(db: Database, source: str) -> WatermarkState | None:
    """A SQL source's state after its last ingested read, if any."""
    rows = db.execute(
        "SELECT value, kind, window_rows, below_rows, null_rows, late_rows FROM watermarks "
        "WHERE source = :s",
        {"s": source},
    )
    if not rows:
        return None
    value, kind, window, below, nulls, late = rows[0]
    return WatermarkState(value, kind, _count(window), _count(below), _count(nulls), int(late or 0))


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


def set_watermark(db: Database, source: str, state: WatermarkState) -> None:
    """Store a SQL source's state (in the caller's transaction)."""
    db.execute("DELETE FROM watermarks WHERE source = :s", {"s": source})
    db.execute(
        "INSERT INTO watermarks (source, value, kind, updated_at, window_rows, below_rows, "
        "null_rows, late_rows) VALUES (:s, :v, :k, :t, :w, :b, :n, :l)",
        {
            "s": source,
            "v": state.value,
            "k": state.kind,
            "t": now(),
            "w": state.window_rows,
            "b": state.below_rows,
            "n": state.null_rows,
            "l": state.late_rows,
        },
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


def late_rows(db: Database) -> dict[str, int]:
    """Source -> rows found below its look-back window and not read yet (for status)."""
    return {r[0]: int(r[1] or 0) for r in db.execute("SELECT source, late_rows FROM watermarks")}


def quarantined_row_hashes(db: Database, source: str) -> set[str]:
    """Hashes of the raw rows a source has already quarantined."""
    return {
        r[0]
        for r in db.execute(
            "SELECT row_hash FROM quarantined_rows WHERE source = :s", {"s": source}
        )
    }


def remember_quarantined(db: Database, source: str, hashes: Iterable[str]) -> None:
    """Record raw-row hashes a source quarantined (in the caller's transaction)."""
    rows = [{"s": source, "h": h} for h in dict.fromkeys(hashes)]
    if rows:
        db.executemany("DELETE FROM quarantined_rows WHERE source = :s AND row_hash = :h", rows)
        db.executemany("INSERT INTO quarantined_rows (source, row_hash) VALUES (:s, :h)", rows)

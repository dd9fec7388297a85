"""SQL sources on a real SQLite file and on the real PostgreSQL server; metadata on PostgreSQL too."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from riskwatch.ingest.sources.sql import append_rows
from tests.helpers import course_contract, run_cli, write_config


def _rows(start: int, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "corporation": [f"c{i:04d}" for i in range(start, start + n)],
            "lastmonth_activity": [float(i % 97) for i in range(n)],
            "lastyear_activity": [float(i * 3) for i in range(n)],
            "number_of_employees": [float(i % 13) for i in range(n)],
            "exited": [i % 2 for i in range(n)],
        }
    )


def _config(
    tmp_path: Path, url: str, *, watermark: str = "row_id", metadata_url: str | None = None
) -> Path:
    ws = {"path": "ws", **({"metadata_url": metadata_url} if metadata_url else {})}
    return write_config(
        tmp_path,
        {
            "workspace": ws,
            "contract": course_contract(),
            "sources": {
                "db": {
                    "kind": "sql",
                    "url": url,
                    "table": "clients",
                    "watermark": watermark,
                    "chunk_rows": 50,
                }
            },
        },
    )


def _ingest(config: Path) -> dict:
    done = run_cli("ingest", "--json", config=config)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _roundtrip(tmp_path: Path, url: str, metadata_url: str | None = None) -> None:
    append_rows(url, "clients", _rows(0, 230), watermark="row_id")
    config = _config(tmp_path, url, metadata_url=metadata_url)
    assert run_cli("ingest", "--check", config=config).returncode == 0
    first = _ingest(config)
    assert first["accepted"] == 230 and first["units"][0]["read"] == 230
    assert run_cli("ingest", "--check", config=config).returncode == 1  # nothing new
    append_rows(url, "clients", _rows(230, 40), watermark="row_id")
    second = _ingest(config)
    assert second["accepted"] == 40 and second["rows_total"] == 270  # only the new rows were read
    assert second["units"][0]["read"] == 40
    assert _ingest(config)["units"] == []


def test_sqlite_source_by_increasing_id(tmp_path: Path) -> None:
    _roundtrip(tmp_path, f"sqlite:///{tmp_path / 'src.db'}")


@pytest.mark.postgres
def test_postgres_source_and_postgres_metadata(tmp_path: Path, pg_url: str) -> None:
    _roundtrip(tmp_path, pg_url, metadata_url=pg_url)
    import psycopg

    with psycopg.connect(pg_url) as conn:
        versions = conn.execute(
            "SELECT version, rows FROM dataset_versions ORDER BY version"
        ).fetchall()
        logged = conn.execute(
            "SELECT rows_read, rows_accepted FROM ingestions ORDER BY id"
        ).fetchall()
    assert versions == [(1, 230), (2, 270)] and logged == [(230, 230), (40, 40)]


def test_sqlite_source_by_updated_at_timestamp(tmp_path: Path) -> None:
    db = tmp_path / "src.db"
    start = datetime(2026, 1, 1, 8, 0)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE clients (corporation TEXT, lastmonth_activity REAL, lastyear_activity REAL, "
            "number_of_employees REAL, exited INTEGER, updated_at TEXT)"
        )
        conn.executemany(
            "INSERT INTO clients VALUES (?, ?, ?, ?, ?, ?)",
            [
                (f"c{i}", i, i * 2, 3, i % 2, (start + timedelta(minutes=i)).isoformat(sep=" "))
                for i in range(120)
            ],
        )
    config = _config(tmp_path, f"sqlite:///{db}", watermark="updated_at")
    assert _ingest(config)["accepted"] == 120
    with sqlite3.connect(db) as conn:  # a resent record with a later timestamp, and a brand-new one
        conn.execute(
            "INSERT INTO clients VALUES ('c5', 99, 99, 3, 1, ?)",
            ((start + timedelta(days=1)).isoformat(sep=" "),),
        )
        conn.execute(
            "INSERT INTO clients VALUES ('n1', 1, 1, 1, 0, ?)",
            ((start + timedelta(days=1, seconds=1)).isoformat(sep=" "),),
        )
    second = _ingest(config)
    assert second["units"][0]["read"] == 2 and second["accepted"] == 2


@pytest.mark.postgres
def test_postgres_source_by_timestamp_in_chunks(tmp_path: Path, pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE clients (corporation TEXT, lastmonth_activity DOUBLE PRECISION, "
            "lastyear_activity DOUBLE PRECISION, number_of_employees DOUBLE PRECISION, exited INTEGER, "
            "updated_at TIMESTAMPTZ)"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO clients VALUES (%s, %s, %s, %s, %s, now() - make_interval(mins => %s))",
                [(f"p{i}", i, i, 1, i % 2, 500 - i) for i in range(333)],
            )
    config = _config(tmp_path, pg_url, watermark="updated_at")
    first = _ingest(config)
    assert first["accepted"] == 333
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO clients VALUES ('late', 1, 1, 1, 1, now() + interval '1 minute')")
    assert _ingest(config)["accepted"] == 1

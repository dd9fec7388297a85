"""SQL sources on a real SQLite file and on the real PostgreSQL server; metadata on PostgreSQL too."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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


# --- the watermark never loses a row silently (on SQLite and on the real PostgreSQL) ----------

COLUMNS = "corporation, lastmonth_activity, lastyear_activity, number_of_employees, exited"


class Table:
    """The source table, on a SQLite file or on the PostgreSQL test schema."""

    def __init__(self, url: str, wm_type: str) -> None:
        self.url = url
        self.pg = url.startswith("postgresql")
        kinds = {
            "serial": ("SERIAL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT"),
            "int": ("INTEGER", "INTEGER"),
            "timestamp": ("TIMESTAMPTZ", "TEXT"),
        }[wm_type]
        self.execute(
            f"CREATE TABLE clients (wm {kinds[0] if self.pg else kinds[1]}, corporation TEXT, "
            "lastmonth_activity REAL, lastyear_activity REAL, number_of_employees REAL, "
            "exited INTEGER)"
        )

    def connect(self) -> Any:
        if self.pg:
            import psycopg

            return psycopg.connect(self.url, autocommit=True)
        conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
        return conn

    def execute(self, sql: str, rows: list[tuple[Any, ...]] | None = None) -> None:
        conn = self.connect()
        try:
            sql = sql.replace("?", "%s") if self.pg else sql
            if rows is None:
                conn.execute(sql)
            else:
                conn.cursor().executemany(sql, rows)
        finally:
            conn.close()

    def add(self, wm: Any, name: str, label: int | str = 0) -> None:
        self.execute(
            f"INSERT INTO clients (wm, {COLUMNS}) VALUES (?, ?, 1, 2, 3, ?)", [(wm, name, label)]
        )


def _source_config(tmp_path: Path, url: str, **source: Any) -> Path:
    return write_config(
        tmp_path,
        {
            "workspace": {"path": "ws"},
            "contract": course_contract(),
            "sources": {
                "db": {"kind": "sql", "url": url, "table": "clients", "watermark": "wm", **source}
            },
        },
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def source_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'source.db'}"
    return str(request.getfixturevalue("pg_url"))


def _stamp(minutes: float) -> str:
    return (datetime(2026, 3, 1, 12, 0) + timedelta(minutes=minutes)).isoformat(sep=" ")


def _status_late(config: Path) -> int:
    done = run_cli("status", "--json", config=config)
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["sources"][0]["late_rows"])


def _unit(config: Path, *args: str) -> dict[str, Any]:
    report = _ingest_args(config, *args)
    assert len(report["units"]) == 1, report
    return dict(report["units"][0])


def _ingest_args(config: Path, *args: str) -> dict[str, Any]:
    done = run_cli("ingest", "--json", *args, config=config)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_timestamp_watermark_reads_equal_and_late_rows(tmp_path: Path, source_url: str) -> None:
    table = Table(source_url, "timestamp")
    for i in range(10):
        table.add(_stamp(i), f"t{i}")
    config = _source_config(tmp_path, source_url, lookback="5m")
    assert _unit(config)["accepted"] == 10
    table.add(_stamp(9), "same-time")  # (a) the same timestamp as the last maximum
    unit = _unit(config)
    assert (unit["read"], unit["accepted"]) == (1, 1) and unit["reread"] >= 1
    table.add(_stamp(7), "two-minutes-late")  # inside the look-back window
    assert _unit(config)["accepted"] == 1
    table.add(_stamp(-60), "an-hour-late")  # (d) below the window: reported, not lost silently
    unit = _unit(config)
    assert (unit["accepted"], unit["late"]) == (0, 1)
    assert _status_late(config) == 1
    with sqlite3.connect(tmp_path / "ws" / "metadata.db") as db:
        assert db.execute("SELECT SUM(rows_late) FROM ingestions").fetchone()[0] == 1
    assert run_cli("ingest", "--check", config=config).returncode == 1  # reported once
    retried = _unit(config, "--retry")  # the whole table again: the late row is picked up
    assert retried["accepted"] == 1 and retried["read"] == 1
    assert _status_late(config) == 0
    assert run_cli("ingest", "--check", config=config).returncode == 1
    names = _dataset_ids(tmp_path)
    assert len(names) == 13 and {"same-time", "two-minutes-late", "an-hour-late"} <= names


def test_serial_id_committed_after_a_higher_one_is_picked_up(
    tmp_path: Path, source_url: str
) -> None:
    table = Table(source_url, "int")
    for i in [*range(1, 11), 12]:
        table.add(i, f"s{i}")
    config = _source_config(tmp_path, source_url, lookback_rows=100)
    assert _unit(config)["accepted"] == 11
    table.add(11, "s11")  # (b) id 11 becomes visible after 12 was read
    unit = _unit(config)
    assert (unit["read"], unit["accepted"], unit["late"]) == (1, 1, 0)
    assert unit["reread"] == 11  # the window was read again and its stored rows recognised
    assert _unit(config, "--retry")["accepted"] == 0  # nothing is ever stored twice
    assert len(_dataset_ids(tmp_path)) == 12


@pytest.mark.postgres
def test_postgres_concurrent_commit_below_the_watermark(tmp_path: Path, pg_url: str) -> None:
    import psycopg

    table = Table(pg_url, "serial")
    table.execute(f"INSERT INTO clients ({COLUMNS}) VALUES ('first', 1, 2, 3, 0)")
    config = _source_config(tmp_path, pg_url)
    assert _unit(config)["accepted"] == 1
    slow = psycopg.connect(pg_url)  # a transaction that takes id 2 and commits late
    fast = psycopg.connect(pg_url, autocommit=True)
    try:
        slow.execute(f"INSERT INTO clients ({COLUMNS}) VALUES ('slow', 1, 2, 3, 1)")
        fast.execute(f"INSERT INTO clients ({COLUMNS}) VALUES ('fast', 1, 2, 3, 0)")
        ids = dict(fast.execute("SELECT corporation, wm FROM clients").fetchall())
        assert ids == {"first": 1, "fast": 3}  # 'slow' holds id 2, not visible yet
        assert _unit(config)["accepted"] == 1  # reads 'fast' (id 3); id 2 is still open
        slow.commit()
    finally:
        slow.close()
        fast.close()
    unit = _unit(config)
    assert (unit["accepted"], unit["late"]) == (1, 0)
    assert _dataset_ids(tmp_path) == {"first", "fast", "slow"}


def test_null_watermarks_are_read_and_counted(tmp_path: Path, source_url: str) -> None:
    table = Table(source_url, "int")
    for i in range(1, 6):
        table.add(i, f"n{i}")
    table.add(None, "no-wm-1")
    table.add(None, "no-wm-2")
    config = _source_config(tmp_path, source_url)
    unit = _unit(config)
    assert (unit["accepted"], unit["null_watermark"]) == (7, 2)  # (c) read, and counted
    assert run_cli("ingest", "--check", config=config).returncode == 1
    table.add(None, "no-wm-3")
    unit = _unit(config)
    assert (unit["read"], unit["accepted"]) == (1, 1) and unit["null_watermark"] >= 1
    assert run_cli("ingest", "--check", config=config).returncode == 1
    assert len(_dataset_ids(tmp_path)) == 8


def test_late_id_below_the_window_is_reported_then_retried(tmp_path: Path, source_url: str) -> None:
    table = Table(source_url, "int")
    for i in range(1, 51):
        if i != 20:
            table.add(i, f"i{i}")
    config = _source_config(tmp_path, source_url, lookback_rows=5)
    assert _unit(config)["accepted"] == 49
    table.add(20, "i20")  # (d) far below the look-back window of 5 ids
    done = run_cli("ingest", config=config)
    assert done.returncode == 0 and "1 row(s) arrived below the look-back window" in done.stdout
    assert "--retry" in done.stdout
    with sqlite3.connect(tmp_path / "ws" / "metadata.db") as db:
        assert db.execute("SELECT rows_late FROM ingestions ORDER BY id DESC").fetchone()[0] == 1
    assert _status_late(config) == 1
    assert _unit(config, "--retry")["accepted"] == 1
    assert _status_late(config) == 0 and len(_dataset_ids(tmp_path)) == 50


def test_a_bad_row_in_the_window_is_quarantined_once(tmp_path: Path, source_url: str) -> None:
    table = Table(source_url, "int")
    for i in range(1, 10):
        table.add(i, f"b{i}")
    table.add(10, "bad", label=7)
    config = _source_config(tmp_path, source_url)
    unit = _unit(config)
    assert (unit["accepted"], unit["quarantined"]) == (9, 1)
    table.add(11, "b11")
    unit = _unit(config)
    assert (unit["read"], unit["accepted"], unit["quarantined"]) == (1, 1, 0)
    assert unit["reread"] == 10
    assert len(list((tmp_path / "ws" / "quarantine").glob("*.csv"))) == 1


def _dataset_ids(tmp_path: Path) -> set[str]:
    from riskwatch.config import load_settings
    from riskwatch.storage.datasets import current_version, load_dataset
    from riskwatch.storage.metadata import open_metadata
    from riskwatch.storage.workspace import Workspace

    settings = load_settings(tmp_path / "riskwatch.toml")
    db = open_metadata(settings.metadata_url)
    try:
        version = current_version(db)
        assert version is not None
        frame = load_dataset(Workspace(settings.workspace_path), version)
    finally:
        db.close()
    assert frame["corporation"].is_unique
    return set(frame["corporation"])

"""Ingestion under stress: SIGKILL mid-write, counts that always add up, a light --check, the lock."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from riskwatch.ingest.rules import dedupe, split_conflicts, validate
from riskwatch.schema import DataSchema
from tests.helpers import (
    HEAVY_MODULES,
    course_contract,
    hold_lock,
    imported_modules,
    run_cli,
    write_config,
)

SCHEMA = DataSchema(
    id_column="corporation",
    target_column="exited",
    positive_label=1,
    negative_label=0,
    numeric=("lastmonth_activity", "lastyear_activity", "number_of_employees"),
    categorical=(),
)


def _big_csv(path: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    pd.DataFrame(
        {
            "corporation": [f"k{i:07d}" for i in range(n)],
            "lastmonth_activity": rng.integers(0, 1000, n),
            "lastyear_activity": rng.integers(0, 9000, n),
            "number_of_employees": rng.integers(1, 500, n),
            "exited": rng.integers(0, 2, n),
        }
    ).to_csv(path, index=False)


def _dataset_rows(config: Path) -> tuple[int, int]:
    ws = config.parent / "ws"
    if not (ws / "metadata.db").exists():  # killed before it created its workspace
        return 0, 0
    with sqlite3.connect(ws / "metadata.db") as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'dataset_versions'").fetchall():
            return 0, 0
        row = db.execute(
            "SELECT rows, parts FROM dataset_versions ORDER BY version DESC LIMIT 1"
        ).fetchone()
    if row is None:
        return 0, 0
    data = pd.concat([pd.read_parquet(ws / "datasets" / p["name"]) for p in json.loads(row[1])])
    return int(row[0]), int(data["corporation"].nunique())


def test_sigkill_mid_ingest_then_rerun_gives_exactly_the_rows(course_project: Path) -> None:
    incoming = course_project.parent / "incoming"
    _big_csv(incoming / "a.csv", 300_000, seed=1)
    _big_csv(incoming / "b.csv", 200_000, seed=2)
    pd.read_csv(incoming / "b.csv").assign(corporation=lambda f: "b" + f.corporation).to_csv(
        incoming / "b.csv", index=False
    )
    outcomes = []
    for delay in (0.3, 0.6, 0.9, 1.2, 1.6, 2.2):
        proc = subprocess.Popen(
            [sys.executable, "-m", "riskwatch", "--config", str(course_project), "ingest"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        outcomes.append(proc.wait())
        rows, unique = _dataset_rows(course_project)
        assert rows == unique and rows in (0, 300_000, 500_000)  # a version is all or nothing
    done = run_cli("ingest", config=course_project)
    assert done.returncode == 0, done.stderr
    assert _dataset_rows(course_project) == (500_000, 500_000)
    assert run_cli("ingest", "--check", config=course_project).returncode == 1
    leftovers = [
        p for p in (course_project.parent / "ws" / "datasets").iterdir() if p.name.startswith(".")
    ]
    assert not leftovers
    assert -signal.SIGKILL in outcomes


ROW = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "", None]),
    st.one_of(st.integers(-5, 5).map(str), st.sampled_from(["x", "", "nan", "1e3"])),
    st.integers(0, 3).map(str),
    st.integers(0, 3).map(str),
    st.sampled_from(["0", "1", "2", "maybe", ""]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=1, max_size=40), seen_rows=st.integers(0, 5))
def test_counts_always_add_up(rows: list[tuple], seen_rows: int) -> None:
    raw = pd.DataFrame(rows, columns=list(SCHEMA.columns)).astype("object")
    raw["_rw_row"] = range(1, len(raw) + 1)
    valid, bad = validate(raw, SCHEMA)
    valid, clashes = split_conflicts(valid, SCHEMA)
    first, _ = dedupe(valid.head(seen_rows), schema=SCHEMA, seen=np.empty(0, dtype=np.uint64))
    seen = np.sort(first["_rw_hash"].to_numpy())
    new, dups = dedupe(valid, schema=SCHEMA, seen=seen)
    assert len(raw) == len(new) + len(bad) + len(clashes) + dups
    assert bad["_rw_reason"].astype(str).str.len().gt(0).all()


@example(rows=[("a", "1", "2", "3", "0")] * 2, dedupe_mode="latest")  # a row sent twice
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(ROW, min_size=1, max_size=40),
    dedupe_mode=st.sampled_from(["identical", "latest"]),
)
def test_dedupe_keeps_one_row_of_every_distinct_key(rows: list[tuple], dedupe_mode: str) -> None:
    """No key is lost: a row sent twice keeps one copy (with "latest", the last row of a key),
    whatever the mode."""
    from dataclasses import replace

    schema = replace(SCHEMA, dedupe=dedupe_mode)
    raw = pd.DataFrame(rows, columns=list(schema.columns)).astype("object")
    raw["_rw_row"] = range(1, len(raw) + 1)
    valid, _ = validate(raw, schema)
    if dedupe_mode == "identical":
        valid, _ = split_conflicts(valid, schema)
    new, dups = dedupe(valid, schema=schema, seen=np.empty(0, dtype=np.uint64))
    key = list(schema.key)
    assert set(map(tuple, new[key].astype(str).to_numpy())) == set(
        map(tuple, valid[key].astype(str).to_numpy())
    )
    assert len(new) + dups == len(valid)
    if dedupe_mode == "latest":
        last = valid.drop_duplicates(subset=key, keep="last").reset_index(drop=True)
        cols = list(schema.columns)
        pd.testing.assert_frame_equal(new[cols].reset_index(drop=True), last[cols])


@settings(max_examples=8, deadline=None)
@given(n_good=st.integers(1, 30), n_bad=st.integers(0, 10), n_dup=st.integers(0, 10))
def test_recorded_counts_add_up(tmp_path_factory, n_good: int, n_bad: int, n_dup: int) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("p")
    (root / "in").mkdir()
    config = write_config(
        root,
        {
            "workspace": {"path": "ws"},
            "contract": course_contract(),
            "sources": {"d": {"kind": "folder", "path": "in"}},
        },
    )
    header = "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\n"
    # a first clean batch fixes the column types, as in production
    (root / "in" / "base.csv").write_text(
        header + "".join(f"b{i},{i},2,3,{i % 2}\n" for i in range(20))
    )
    assert run_cli("ingest", config=config).returncode == 0
    lines = [f"g{i},1,2,3,{i % 2}" for i in range(n_good)] + [
        f"x{i},oops,2,3,0" for i in range(n_bad)
    ]
    lines += [f"g{i % n_good},1,2,3,{(i % n_good) % 2}" for i in range(n_dup)]
    (root / "in" / "batch.csv").write_text(header + "\n".join(lines) + "\n")
    assert run_cli("ingest", config=config).returncode == 0
    with sqlite3.connect(root / "ws" / "metadata.db") as db:
        read, acc, quar, dup = db.execute(
            "SELECT rows_read, rows_accepted, rows_quarantined, rows_duplicate FROM ingestions WHERE unit LIKE '%batch.csv'"
        ).fetchone()
    assert (read, acc, quar, dup) == (n_good + n_bad + n_dup, n_good, n_bad, n_dup)


def test_check_does_not_import_heavy_modules(course_project: Path) -> None:
    for expect in (1, 0):
        done, mods = imported_modules(course_project, "ingest", "--check")
        assert done.returncode == expect, done.stderr
        assert not mods & HEAVY_MODULES, mods & HEAVY_MODULES
        (course_project.parent / "incoming" / "new.csv").write_text(
            "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\nq,1,2,3,0\n"
        )


def test_second_ingestion_exits_with_the_lock_message(course_project: Path) -> None:
    with hold_lock(course_project.parent / "ws"):
        (course_project.parent / "incoming" / "x.csv").write_text(
            "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\nq,1,2,3,0\n"
        )
        done = run_cli("ingest", config=course_project)
        assert done.returncode == 75 and "another riskwatch process" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert run_cli("ingest", config=course_project).returncode == 0
    assert _dataset_rows(course_project) == (1, 1)

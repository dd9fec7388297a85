"""Fault test: ``riskwatch run`` killed with SIGKILL at spread-out moments, then a normal run.

Three scenarios: the course files (a folder, SQLite metadata), a demo drift month that makes the
run retrain and deploy, and the same on the PostgreSQL metadata database. After each kill and
recovery run: the dataset has exactly the expected rows (counted in its parts), no orphan part,
temp file, model staging folder or report temp folder is left, every registered model's artifact
matches its checksum and has a registry row, the champion loads, and the markers say all is
processed. ``RISKWATCH_KILL_TRIALS`` (course), ``RISKWATCH_KILL_TRIALS_DRIFT`` and
``RISKWATCH_KILL_TRIALS_POSTGRES`` set the number of kills; ``RISKWATCH_KILL_LOG`` names a file
that receives one JSON line per trial (bench/faults.py reads it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import drop
from tests.helpers import COURSE, PG_URL, course_sections, demo_contract, run_cli, write_config

pytestmark = pytest.mark.slow
TRIALS = {
    "course": int(os.environ.get("RISKWATCH_KILL_TRIALS", "8")),
    "drift": int(os.environ.get("RISKWATCH_KILL_TRIALS_DRIFT", "6")),
    "postgres": int(os.environ.get("RISKWATCH_KILL_TRIALS_POSTGRES", "6")),
}
NO_INDEX = {"RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"}


@dataclass
class Scenario:
    """How to build the base project, add the batch, and reach its metadata."""

    mode: str
    root: Path
    schema: str | None = None  # PostgreSQL schema of the metadata (postgres mode)

    @property
    def config(self) -> Path:
        return self.root / "riskwatch.toml"

    def metadata_url(self) -> str | None:
        return f"{PG_URL}?options=-csearch_path%3D{self.schema}" if self.schema else None

    def write_config(self) -> None:
        if self.mode == "course":
            sections = course_sections()
        else:
            sections = {
                "workspace": {"path": "ws"},
                "contract": demo_contract(),
                "sources": {"drop": {"kind": "folder", "path": "incoming", "settle_seconds": 0}},
                "training": {"model": "logistic"},
            }
        if self.schema:
            sections["workspace"]["metadata_url"] = self.metadata_url()
        write_config(self.root, sections)

    def base(self) -> None:
        (self.root / "incoming").mkdir(parents=True)
        self.write_config()
        if self.mode == "course":
            drop(self.config, *sorted((COURSE / "practicedata").glob("*.csv")), sub="practicedata")
        else:
            for month in (1, 2, 3):
                _demo_month(month).to_csv(self.root / "incoming" / f"m{month}.csv", index=False)
        done = run_cli("run", config=self.config, env=NO_INDEX)
        assert done.returncode == 0, done.stderr

    def add_batch(self) -> None:
        if self.mode == "course":
            drop(self.config, *sorted((COURSE / "sourcedata").glob("*.csv")), sub="sourcedata")
            drop(self.config, COURSE / "validation_data" / "drift" / "drift.csv", sub="validation")
        else:
            _demo_month(4).to_csv(self.root / "incoming" / "m4.csv", index=False)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.schema:
            import psycopg

            with psycopg.connect(str(self.metadata_url())) as conn:
                return [tuple(r) for r in conn.execute(sql).fetchall()]
        with sqlite3.connect(self.root / "ws" / "metadata.db") as db:
            return [tuple(r) for r in db.execute(sql).fetchall()]


def _demo_month(month: int) -> Any:
    from riskwatch.demo import DemoSpec, generate, month_batches

    batches = month_batches(generate(DemoSpec(clients=2000, months=4, drift_month=4, seed=7)))
    return batches[month - 1]


def _clone_pg_schema(source: str, target: str) -> None:
    """Copy every metadata table of ``source`` into a new schema ``target``."""
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{target}"')
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (source,),
        ).fetchall()
        for (table,) in tables:
            conn.execute(
                f'CREATE TABLE "{target}"."{table}" (LIKE "{source}"."{table}" INCLUDING ALL)'
            )
            conn.execute(f'INSERT INTO "{target}"."{table}" SELECT * FROM "{source}"."{table}"')


def _drop_pg_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _state(sc: Scenario) -> dict[str, Any]:
    """The checks after recovery; returns what the trial log records."""
    import pandas as pd

    ws = sc.root / "ws"
    top = sc.query("SELECT MAX(version) FROM dataset_versions")[0][0]
    rows, parts = sc.query(f"SELECT rows, parts FROM dataset_versions WHERE version = {top}")[0]
    parts = json.loads(parts)
    stored = sum(len(pd.read_parquet(ws / "datasets" / p["name"])) for p in parts)
    assert stored == sum(p["rows"] for p in parts), "a part does not hold its recorded rows"
    referenced = {
        p["name"]
        for (text,) in sc.query("SELECT parts FROM dataset_versions")
        for p in json.loads(text)
    }
    orphans = [p.name for p in (ws / "datasets").iterdir() if p.name not in referenced]
    orphans += [p.name for p in (ws / "quarantine").glob(".*.tmp")]
    orphans += [p.name for p in (ws / "models").glob(".staging-*")]
    orphans += [p.name for p in (ws / "reports").glob(".tmp-*")]
    models = sc.query("SELECT version, artifact, sha256 FROM models")
    for version, artifact, sha in models:
        path = ws / artifact if not Path(artifact).is_absolute() else Path(artifact)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha, f"v{version} artifact damaged"
    known = {f"v{v}" for v, _, _ in models}
    orphans += [p.name for p in (ws / "models").glob("v*") if p.name not in known]
    markers = dict(sc.query("SELECT key, value FROM rw_meta WHERE key LIKE '%_version'"))
    return {
        "version": top,
        "rows": rows,
        "stored_rows": stored,
        "orphans": orphans,
        "running": sc.query("SELECT COUNT(*) FROM runs WHERE status = 'running'")[0][0],
        "champion": sc.query("SELECT version FROM aliases WHERE alias = 'champion'")[0][0],
        "models": len(models),
        "markers": markers,
    }


def _killed_after(sc: Scenario) -> str:
    """The last step the killed run finished (the kill hit the step after it)."""
    killed = sc.query("SELECT id FROM runs WHERE status = 'killed' ORDER BY id DESC LIMIT 1")
    if not killed:
        return "no run started"
    steps = sc.query(f"SELECT step FROM run_steps WHERE run_id = {killed[0][0]} ORDER BY id")
    return steps[-1][0] if steps else "start"


def _champion_loads(config: Path) -> None:
    code = (
        "from tests.helpers import open_context\n"
        f"m = open_context(__import__('pathlib').Path({str(config)!r})).champion()\n"
        "print(m.version)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip().isdigit(), done.stderr


@pytest.fixture
def schemas() -> Iterator[list[str]]:
    """PostgreSQL schemas made by a test, dropped afterwards."""
    made: list[str] = []
    yield made
    for schema in made:
        _drop_pg_schema(schema)


def _pg_available() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception:
        return False
    return True


@pytest.mark.parametrize(
    "mode", ["course", "drift", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_kill_at_random_moments_then_recover(tmp_path: Path, mode: str, schemas: list[str]) -> None:
    trials = TRIALS[mode]
    if trials <= 0:
        pytest.skip(f"no {mode} trials asked for")
    if mode == "postgres" and not _pg_available():
        pytest.skip("PostgreSQL server not reachable at 127.0.0.1:5432")
    kind = "drift" if mode == "postgres" else mode

    def scenario(root: Path) -> Scenario:
        if mode != "postgres":
            return Scenario(kind, root)
        schemas.append(f"rw_kill_{uuid.uuid4().hex[:10]}")
        return Scenario(kind, root, schemas[-1])

    base = scenario(tmp_path / "base")
    if base.schema:
        _create_schema(base.schema)
    base.base()

    def copy(root: Path) -> Scenario:
        shutil.copytree(base.root, root)
        sc = scenario(root)
        if sc.schema:
            assert base.schema is not None
            _clone_pg_schema(base.schema, sc.schema)
            sc.write_config()
        sc.add_batch()
        return sc

    ref = copy(tmp_path / "ref")  # the reference: the same batch processed without a kill
    started = time.monotonic()
    assert run_cli("run", config=ref.config, env=NO_INDEX).returncode == 0
    duration = time.monotonic() - started
    expected = _state(ref)
    if kind == "drift":
        assert expected["models"] == 2, "the drift month should make the run retrain"
    shutil.rmtree(ref.root)

    log = os.environ.get("RISKWATCH_KILL_LOG")
    outcomes = []
    for trial in range(trials):
        sc = copy(tmp_path / f"t{trial}")
        delay = 0.05 + duration * trial / trials  # spread over the whole run, start-up included
        proc = subprocess.Popen(
            [sys.executable, "-m", "riskwatch", "--config", str(sc.config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **NO_INDEX},
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        outcomes.append(proc.wait())
        recovered = run_cli("run", config=sc.config, env=NO_INDEX)
        assert recovered.returncode == 0, (
            f"{mode} trial {trial} (kill after {delay:.2f} s): {recovered.stderr}"
        )
        state = _state(sc)
        where = _killed_after(sc) if outcomes[-1] == -signal.SIGKILL else "finished before"
        if log:
            with open(log, "a", encoding="utf-8") as fh:
                record = {"mode": mode, "trial": trial, "delay": round(delay, 2), "killed": where}
                record["expected_rows"] = expected["rows"]
                fh.write(json.dumps({**record, **state}) + "\n")
        assert state["rows"] == state["stored_rows"] == expected["rows"], f"trial {trial}"
        assert state["orphans"] == [], f"trial {trial}: {state['orphans']}"
        assert state["running"] == 0
        assert state["markers"] == {
            "processed_version": str(state["version"]),
            "reported_version": str(state["version"]),
        }
        _champion_loads(sc.config)
        shutil.rmtree(sc.root)
        if sc.schema:
            _drop_pg_schema(sc.schema)
    assert outcomes.count(-signal.SIGKILL) >= trials // 2  # most kills hit a live run


def _create_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

"""``riskwatch run`` mechanics: fast path, dry run, lock, unreachable source, history, status."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import drop
from tests.helpers import COURSE, course_contract, run_cli, write_config

HEAVY = ("pandas", "sklearn", "scipy", "matplotlib", "pyarrow", "sqlalchemy")


def _imported(config: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the CLI and report which top-level modules it imported."""
    code = (
        "import sys, runpy\n"
        "sys.argv = ['riskwatch', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('riskwatch', run_name='__main__')\n"
        "finally:\n    print('MODULES=' + ','.join(sorted({m.split('.')[0] for m in sys.modules})),"
        " file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES="))
    return done, set(line.removeprefix("MODULES=").split(","))


def test_nothing_new_is_recorded_without_heavy_imports(course_project: Path) -> None:
    done, modules = _imported(course_project, "run")
    assert done.returncode == 0, done.stderr
    assert "no new data" in done.stdout
    assert not modules & set(HEAVY), modules & set(HEAVY)
    history = json.loads(run_cli("runs", "--json", config=course_project).stdout)
    assert [(r["status"], r["outcome"]) for r in history] == [("nothing_new", "no new data")]


def test_dry_run_changes_nothing(course_project: Path) -> None:
    drop(course_project, COURSE / "practicedata" / "dataset1.csv")
    done = run_cli("run", "--dry-run", config=course_project)
    assert done.returncode == 0, done.stderr
    assert "ingest drop: dataset1.csv" in done.stdout
    assert "train a first model" in done.stdout
    ws = course_project.parent / "ws"
    with sqlite3.connect(ws / "metadata.db") as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM dataset_versions").fetchone()[0] == 0
    again = run_cli("ingest", "--check", config=course_project)
    assert again.returncode == 0  # the file is still new


def test_second_run_exits_at_once_while_one_holds_the_lock(course_project: Path) -> None:
    ws = course_project.parent / "ws"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\nfrom riskwatch.storage.workspace import Workspace\n"
            f"with Workspace(Path({str(ws)!r})).lock():\n    print('locked', flush=True)\n    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        done = run_cli("run", config=course_project)
        waited = time.monotonic() - started
        assert done.returncode == 75
        lines = done.stderr.strip().splitlines()
        assert (
            len(lines) == 1
            and "another riskwatch process" in lines[0]
            and str(holder.pid) in lines[0]
        )
        assert waited < 30  # it did not wait for the holder's 60 s
    finally:
        holder.kill()
        holder.wait()
    # the lock dies with its holder: the next run proceeds
    assert run_cli("run", config=course_project).returncode == 0


def test_unreachable_source_fails_the_run_and_loses_nothing(tmp_path: Path) -> None:
    src = tmp_path / "source.db"
    with sqlite3.connect(src) as db:
        db.execute(
            "CREATE TABLE clients (row_id INTEGER, corporation TEXT, a REAL, exited INTEGER)"
        )
        db.executemany(
            "INSERT INTO clients VALUES (?, ?, ?, ?)",
            [(i, f"c{i}", float(i), i % 2) for i in range(1, 41)],
        )
    config = write_config(
        tmp_path,
        {
            "workspace": {"path": "ws"},
            "contract": course_contract(),
            "training": {"model": "logistic", "calibration": "none"},
            "sources": {
                "db": {
                    "kind": "sql",
                    "url": "postgresql://postgres@127.0.0.1:1/test",
                    "table": "clients",
                    "watermark": "row_id",
                }
            },
        },
    )
    done = run_cli("run", config=config)
    assert done.returncode == 4, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "127.0.0.1:1" in done.stderr
    assert "Traceback" not in done.stderr
    # fixed (the URL comes from the environment, as in production): the next run takes everything
    fixed = run_cli(
        "run", "--json", config=config, env={"RISKWATCH_SOURCE_DB_URL": f"sqlite:///{src}"}
    )
    assert fixed.returncode == 0, fixed.stderr
    with sqlite3.connect(tmp_path / "ws" / "metadata.db") as db:
        assert db.execute("SELECT MAX(rows) FROM dataset_versions").fetchone()[0] == 40
        statuses = [r[0] for r in db.execute("SELECT status FROM runs ORDER BY id")]
    assert statuses[0] == "failed" and statuses[-1] == "ok"


def test_status_shows_one_screen(course_project: Path) -> None:
    drop(course_project, COURSE / "practicedata" / "dataset1.csv")
    done = run_cli("status", config=course_project)
    assert done.returncode == 0, done.stderr
    for word in ("sources", "pending: 1", "champion   none yet", "last run   never", "next run"):
        assert word in done.stdout

"""``riskwatch run`` mechanics: fast path, dry run, lock, unreachable source, history, status."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from tests.conftest import drop
from tests.helpers import (
    COURSE,
    HEAVY_MODULES,
    course_contract,
    hold_lock,
    imported_modules,
    run_cli,
    write_config,
)


def test_nothing_new_is_recorded_without_heavy_imports(course_project: Path) -> None:
    done, modules = imported_modules(course_project, "run")
    assert done.returncode == 0, done.stderr
    assert "no new data" in done.stdout
    assert not modules & HEAVY_MODULES, modules & HEAVY_MODULES
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
    with hold_lock(ws) as pid:
        started = time.monotonic()
        done = run_cli("run", config=course_project)
        waited = time.monotonic() - started
        assert done.returncode == 75
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "another riskwatch process" in lines[0] and str(pid) in lines[0]
        assert waited < 30  # it did not wait for the holder's 60 s
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


def test_a_validated_config_takes_the_fast_path_on_the_next_tick(course_project: Path) -> None:
    assert run_cli("run", config=course_project).returncode == 0  # validates, stamps
    done, modules = imported_modules(course_project, "run", "--cron")
    assert done.returncode == 0, done.stderr
    assert not modules & (HEAVY_MODULES | {"pydantic", "typer"}), modules & {"pydantic", "typer"}
    history = json.loads(run_cli("runs", "--json", config=course_project).stdout)
    assert [r["status"] for r in history] == ["nothing_new", "nothing_new"]
    assert history[0]["trigger"] == "cron"
    # a changed config is validated again by the full CLI (a bad key is still caught)
    text = course_project.read_text()
    course_project.write_text(text + "\n[monitoring]\nnot_a_key = 1\n")
    bad = run_cli("run", config=course_project)
    assert bad.returncode == 2 and "not_a_key" in bad.stderr


def test_a_copied_project_never_ticks_in_the_original_workspace(
    course_project: Path, tmp_path: Path
) -> None:
    """The stamp holds absolute paths: a copy must not record its runs in the original."""
    import shutil

    assert run_cli("run", config=course_project).returncode == 0  # validates, stamps
    copy = tmp_path / "copy"
    shutil.copytree(course_project.parent, copy)
    config = copy / course_project.name
    done = run_cli("run", config=config)
    assert done.returncode == 0, done.stderr
    original = json.loads(run_cli("runs", "--json", config=course_project).stdout)
    copied = json.loads(run_cli("runs", "--json", config=config).stdout)
    assert len(copied) == len(original) + 1  # the copy's tick went to the copy

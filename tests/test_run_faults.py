"""Fault test: ``riskwatch run`` killed with SIGKILL at spread-out moments, then a normal run.

After each kill and recovery run: the dataset has exactly the expected rows, every registered
model's artifact matches its checksum, the champion loads, and the markers say all is processed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import drop
from tests.helpers import COURSE, course_sections, run_cli, write_config

pytestmark = pytest.mark.slow
TRIALS = int(os.environ.get("RISKWATCH_KILL_TRIALS", "20"))


def _project(root: Path) -> Path:
    (root / "incoming").mkdir(parents=True)
    config = write_config(
        root,
        course_sections(),
    )
    drop(config, *sorted((COURSE / "practicedata").glob("*.csv")), sub="practicedata")
    done = run_cli("run", config=config)
    assert done.returncode == 0, done.stderr
    return config


def _add_batch(config: Path) -> None:
    drop(config, *sorted((COURSE / "sourcedata").glob("*.csv")), sub="sourcedata")
    drop(config, COURSE / "validation_data" / "drift" / "drift.csv", sub="validation")


def _state(config: Path) -> dict[str, object]:
    ws = config.parent / "ws"
    with sqlite3.connect(ws / "metadata.db") as db:
        top = db.execute("SELECT MAX(version) FROM dataset_versions").fetchone()[0]
        rows = db.execute("SELECT rows FROM dataset_versions WHERE version = ?", (top,)).fetchone()[
            0
        ]
        models = db.execute("SELECT version, artifact, sha256 FROM models").fetchall()
        markers = dict(
            db.execute("SELECT key, value FROM rw_meta WHERE key LIKE '%_version'").fetchall()
        )
        running = db.execute("SELECT COUNT(*) FROM runs WHERE status = 'running'").fetchone()[0]
        champion = db.execute("SELECT version FROM aliases WHERE alias = 'champion'").fetchone()[0]
    for version, artifact, sha in models:
        path = Path(artifact) if Path(artifact).is_absolute() else ws / artifact
        if not path.exists():
            path = ws / "models" / f"v{version}" / Path(artifact).name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha, (
            f"model v{version} artifact damaged"
        )
    return {
        "version": top,
        "rows": rows,
        "markers": markers,
        "running": running,
        "champion": champion,
    }


def _champion_loads(config: Path) -> None:
    code = (
        "from tests.helpers import open_context\n"
        f"m = open_context(__import__('pathlib').Path({str(config)!r})).champion()\n"
        "print(m.version)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip().isdigit(), done.stderr


def test_kill_at_random_moments_then_recover(tmp_path: Path) -> None:
    base = _project(tmp_path / "base")
    # the reference: the same batch processed without a kill
    ref_root = tmp_path / "ref"
    shutil.copytree(base.parent, ref_root)
    _add_batch(ref_root / base.name)
    started = time.monotonic()
    assert run_cli("run", config=ref_root / base.name).returncode == 0
    duration = time.monotonic() - started
    expected = _state(ref_root / base.name)

    outcomes = []
    for trial in range(TRIALS):
        root = tmp_path / f"t{trial}"
        shutil.copytree(base.parent, root)
        config = root / base.name
        _add_batch(config)
        delay = 0.05 + duration * trial / TRIALS  # spread over the whole run, start-up included
        proc = subprocess.Popen(
            [sys.executable, "-m", "riskwatch", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        outcomes.append(proc.wait())
        recovered = run_cli("run", config=config)
        assert recovered.returncode == 0, (
            f"trial {trial} (kill after {delay:.2f} s): {recovered.stderr}"
        )
        state = _state(config)
        assert state["rows"] == expected["rows"], f"trial {trial}"
        assert state["running"] == 0
        assert state["markers"] == {
            "processed_version": str(state["version"]),
            "reported_version": str(state["version"]),
        }
        _champion_loads(config)
        shutil.rmtree(root)
    assert outcomes.count(-signal.SIGKILL) >= TRIALS // 2  # most kills hit a live run

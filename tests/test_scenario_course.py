"""Acceptance: the course's scenario end to end through ``riskwatch run`` with the course preset."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import drop
from tests.helpers import COURSE, course_sections, run_cli, write_config

pytestmark = pytest.mark.slow


def _config(tmp_path: Path) -> Path:
    (tmp_path / "incoming").mkdir()
    return write_config(
        tmp_path,
        course_sections(),
    )


def _run(config: Path) -> dict[str, Any]:
    done = run_cli("run", "--json", config=config)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _query(config: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(config.parent / "ws" / "metadata.db") as db:
        return db.execute(sql).fetchall()


def _champion(config: Path) -> int:
    return int(_query(config, "SELECT version FROM aliases WHERE alias = 'champion'")[0][0])


def _baseline_f1(config: Path, version: int) -> float:
    rows = _query(
        config, f"SELECT metrics FROM model_metrics WHERE model_version = {version} ORDER BY id"
    )
    return float(json.loads(rows[-1][0])["f1"])


def _last_check(config: Path) -> tuple[str, dict[str, Any]]:
    verdict, result = _query(
        config, "SELECT verdict, result FROM drift_checks ORDER BY id DESC LIMIT 1"
    )[0]
    return verdict, json.loads(result)


def _batch_f1(result: dict[str, Any]) -> float:
    """The champion's F1 on the checked batch, wherever the check result keeps it."""
    perf = result.get("performance") or {}
    for key in ("value", "current", "score", "batch_score"):
        if isinstance(perf.get(key), int | float):
            return float(perf[key])
    raise AssertionError(f"no batch score in {perf}")


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def test_course_scenario(tmp_path: Path) -> None:
    config = _config(tmp_path)
    reports = tmp_path / "ws" / "reports"

    # 1. practicedata: 26 rows, a first model, F1 0.5714 on testdata, a report and API output
    drop(config, *sorted((COURSE / "practicedata").glob("*.csv")), sub="practicedata")
    first = _run(config)
    assert first["status"] == "ok"
    assert _query(config, "SELECT MAX(rows) FROM dataset_versions")[0][0] == 26
    assert _champion(config) == 1
    assert _baseline_f1(config, 1) == pytest.approx(0.5714, abs=1e-4)
    first_report = Path(first["report"]).parent
    assert (first_report / "confusionmatrix.png").is_file()
    assert (first_report / "apireturns.json").is_file()
    first_files = _hashes(first_report)

    # 2. sourcedata: F1 0.6923 on the new rows, above the baseline; 26 rows are too few to call
    #    it "no drift", so riskwatch says so (insufficient data) and keeps the champion
    drop(config, *sorted((COURSE / "sourcedata").glob("*.csv")), sub="sourcedata")
    second = _run(config)
    verdict, result = _last_check(config)
    assert verdict == "insufficient_data" and "too few" in " ".join(result["reasons"])
    assert _batch_f1(result) == pytest.approx(0.6923, abs=1e-4)
    assert _champion(config) == 1 and _baseline_f1(config, 1) == pytest.approx(0.5714, abs=1e-4)
    assert _query(config, "SELECT MAX(rows) FROM dataset_versions")[0][0] == 52
    assert second["report"] and Path(second["report"]).parent != first_report
    assert _hashes(first_report) == first_files  # the first report is preserved as it was

    # 3. nothing new: stops at step 1
    third = _run(config)
    assert third["status"] == "nothing_new"
    assert [s["step"] for s in third["steps"]] == ["check"]

    # 4. no_drift.csv: F1 1.0 on 8 rows -> not worse, but too few to judge: kept
    drop(config, COURSE / "validation_data" / "no_drift" / "no_drift.csv", sub="validation")
    _run(config)
    verdict, result = _last_check(config)
    assert verdict == "insufficient_data" and _batch_f1(result) == pytest.approx(1.0)
    assert _champion(config) == 1

    # 5. drift.csv: F1 0.0 -> drift -> retrain -> the gate decides, and it is recorded
    drop(config, COURSE / "validation_data" / "drift" / "drift.csv", sub="validation")
    fifth = _run(config)
    verdict, result = _last_check(config)
    assert verdict == "drift" and _batch_f1(result) == pytest.approx(0.0)
    steps = [s["step"] for s in fifth["steps"]]
    assert "train" in steps and "deploy" in steps
    gate = _query(
        config,
        "SELECT candidate, champion, metric, decision FROM deployments ORDER BY id DESC LIMIT 1",
    )
    assert gate and gate[0][0] == 2 and gate[0][1] == 1 and gate[0][2] == "f1"
    assert len([p for p in reports.iterdir() if p.is_dir() and (p / "report.html").exists()]) >= 4
    history = json.loads(run_cli("runs", "--json", config=config).stdout)
    assert [r["status"] for r in history][::-1] == ["ok", "ok", "nothing_new", "ok", "ok"]

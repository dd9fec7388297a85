"""Diagnostics and reports on a real workspace after a real run."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskwatch.monitoring.diagnostics import dependencies, missing_data, summary_stats
from riskwatch.reporting import figures as fg
from riskwatch.schema import DataSchema
from riskwatch.storage.workspace import Workspace
from tests.conftest import drop
from tests.helpers import COURSE, course_sections, run_cli, write_config


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("course")
    (root / "incoming").mkdir()
    config = write_config(
        root,
        course_sections(),
    )
    drop(config, *sorted((COURSE / "practicedata").glob("*.csv")))
    done = run_cli("run", config=config, env={"RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"})
    assert done.returncode == 0, done.stderr
    return config


def test_summary_stats_and_missing() -> None:
    schema = DataSchema(
        id_column="id",
        target_column="y",
        positive_label=1,
        negative_label=0,
        numeric=("a",),
        categorical=("k",),
    )
    frame = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4"],
            "a": [1.0, 2.0, 3.0, np.nan],
            "k": ["x", "x", "z", None],
            "y": pd.array([1, 0, 0, None], dtype="Int8"),
        }
    )
    stats = summary_stats(frame, schema)
    assert stats["numeric"]["a"]["mean"] == 2.0 and stats["numeric"]["a"]["median"] == 2.0
    assert stats["numeric"]["a"]["std"] == pytest.approx(1.0)
    assert stats["categorical"]["k"]["top"] == {"x": 2, "z": 1}
    assert "y" not in stats["numeric"] and stats["label"] == {
        "column": "y",
        "labelled": 3,
        "positives": 1,
        "rate": 1 / 3,
    }
    assert missing_data(frame) == {"id": 0.0, "a": 0.25, "k": 0.25, "y": 0.25}


def test_dependency_check_without_network_is_fast_and_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKWATCH_PACKAGE_INDEX", "http://127.0.0.1:9")
    rows = dependencies(Workspace(tmp_path), network=True)
    names = {r["package"] for r in rows}
    assert {"pandas", "scikit-learn", "fastapi"} <= names
    pandas = next(r for r in rows if r["package"] == "pandas")
    assert pandas["installed"] == pd.__version__ and pandas["latest"].startswith("unknown")
    assert json.loads((tmp_path / "cache" / "dependencies.json").read_text())["packages"] == rows


def test_diagnose_stored_after_run(project: Path) -> None:
    done = run_cli("diagnose", "--json", "--offline", config=project)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["summary"]["rows"] == 26 and set(out["summary"]["numeric"]) == {
        "lastmonth_activity",
        "lastyear_activity",
        "number_of_employees",
    }
    assert {"ingest", "train", "deploy", "report"} <= set(out["timings"])


def test_figures_have_content() -> None:
    y = np.array([0, 1, 0, 1, 1, 0, 0, 0])
    p = np.array([0.1, 0.8, 0.3, 0.6, 0.4, 0.2, 0.7, 0.1])
    cm = fg.confusion_matrix({"tn": 4, "fp": 1, "fn": 1, "tp": 2})
    texts = {t.get_text() for t in cm.axes[0].texts}
    assert texts == {"4", "1", "2"} and cm.axes[0].get_xlabel() == "predicted"
    curves = fg.roc_pr_curves(y, p)
    assert [a.get_title() for a in curves.axes] == ["ROC curve", "Precision-recall curve"]
    assert "AUC" in curves.axes[0].get_legend().get_texts()[0].get_text()
    assert len(fg.top_k_curve(y, p).axes[0].lines) == 2
    hist = fg.metric_history(
        [
            {"version": 1, "metrics": {"roc_auc": 0.7, "f1": 0.5}},
            {"version": 2, "metrics": {"roc_auc": 0.8, "f1": None}},
        ]
    )
    assert [len(line.get_xdata()) for line in hist.axes[0].lines] == [2, 1]
    drift = fg.feature_drift(
        [
            {"column": "a", "psi": 0.3, "drifted": True},
            {"column": "b", "psi": 0.01, "drifted": False},
        ]
    )
    assert len(drift.axes[0].patches) == 2


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_reports_never_overwrite_and_render(project: Path, tmp_path: Path) -> None:
    reports = project.parent / "ws" / "reports"
    first = sorted(
        p for p in reports.iterdir() if p.is_dir() and not p.name.startswith((".", "api"))
    )[0]
    before = _hashes(first)
    time.sleep(1.1)
    done = run_cli("report", config=project)
    assert done.returncode == 0, done.stderr
    folders = sorted(
        p for p in reports.iterdir() if p.is_dir() and not p.name.startswith((".", "api"))
    )
    assert len(folders) == 2 and _hashes(first) == before
    new = folders[-1]
    assert {"report.html", "report.pdf", "confusionmatrix.png", "roc_pr.png"} <= {
        p.name for p in new.iterdir()
    }
    html = (new / "report.html").read_text()
    assert not re.search(r"(src|href)=['\"]https?://", html) and len(html) < 2_000_000
    assert "Call list" in html and "Champion" in html and "model v1" in html
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed (Debian poppler-utils; .ci/run installs it)")
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(new / "report.pdf"), str(tmp_path / "page")],
        check=True,
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 3
    import matplotlib.image as mpimg

    for page in pages:
        assert np.asarray(mpimg.imread(page)).std() > 0.01  # not blank


def test_dependency_answer_is_reused_for_a_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from riskwatch.monitoring.diagnostics import required_packages

    monkeypatch.setenv("RISKWATCH_PACKAGE_INDEX", "http://127.0.0.1:9")
    cache = tmp_path / "cache" / "dependencies.json"
    cache.parent.mkdir()

    def write(age_hours: float, complete: bool) -> None:
        at = (datetime.now(UTC) - timedelta(hours=age_hours)).isoformat()
        rows = [{"package": p, "latest": "999.0"} for p in required_packages()]
        cache.write_text(json.dumps({"checked_at": at, "complete": complete, "packages": rows}))

    write(1, True)  # a complete answer from an hour ago: used, the index is not asked
    rows = dependencies(Workspace(tmp_path), network=True)
    assert all(r["latest"] == "999.0" and r["outdated"] for r in rows if r["installed"])
    for age, complete in (
        (30, True),
        (1, False),
    ):  # too old, or partial: asked again (and unreachable)
        write(age, complete)
        assert all(
            r["latest"].startswith("unknown")
            for r in dependencies(Workspace(tmp_path), network=True)
        )

"""A full disk during the report step: one line, the run recorded as failed, nothing half-written;
temp report folders of a killed run are removed by the next run.

The full disk is simulated by ``RISKWATCH_TEST_FAIL_REPORT=ENOSPC`` (see
:mod:`riskwatch.storage.reports`): the report writer fails with a real ``OSError(ENOSPC)`` after
writing its first file, exactly where a full disk would stop it.
"""

from __future__ import annotations

import errno
import json
import logging
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import open_context, run_cli

FAIL = {"RISKWATCH_TEST_FAIL_REPORT": "ENOSPC", "RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"}
OFFLINE = {"RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"}


@pytest.fixture
def project(demo_project: Path, tmp_path: Path) -> Path:
    """A copy of the demo project with a new month of clients waiting in the drop folder."""
    root = tmp_path / "project"
    shutil.copytree(demo_project.parent, root, ignore=shutil.ignore_patterns("serve-*.log"))
    month = (root / "incoming" / "month-3.csv").read_text().splitlines()
    new = [month[0], *(line.replace("C0", "D0", 1) for line in month[1:])]
    (root / "incoming" / "month-4.csv").write_text("\n".join(new) + "\n")
    return root / demo_project.name


def _reports(config: Path) -> list[str]:
    return sorted(p.name for p in (config.parent / "ws" / "reports").iterdir())


def _runs(config: Path) -> list[dict[str, object]]:
    done = run_cli("runs", "--json", config=config)
    assert done.returncode == 0, done.stderr
    runs: list[dict[str, object]] = json.loads(done.stdout)
    return runs


def test_disk_full_in_the_report_step_is_one_line_and_a_failed_run(project: Path) -> None:
    orphan = project.parent / "ws" / "reports" / ".tmp-0123456789abcdef"
    orphan.mkdir(parents=True)
    (orphan / "report.html").write_text("half a report from a killed run")
    before = [name for name in _reports(project) if not name.startswith(".")]

    done = run_cli("run", config=project, env=FAIL)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "No space left on device" in lines[0] and "reports" in lines[0]
    assert _reports(project) == before  # no orphan, no temp folder, no half report
    newest = _runs(project)[0]
    assert newest["status"] == "failed" and "No space left on device" in str(newest["message"])
    steps = {s["step"]: s["decision"] for s in newest["steps"]}  # type: ignore[attr-defined]
    assert str(steps["report"]).startswith("failed: ") and "ingest" in steps

    again = run_cli("run", config=project, env=OFFLINE)
    assert again.returncode == 0, again.stderr
    assert len([n for n in _reports(project) if not n.startswith(".")]) == len(before) + 1
    history = _runs(project)
    assert history[0]["status"] == "ok" and history[1]["status"] == "failed"  # never "killed"


def test_recording_the_failure_on_a_full_disk_adds_no_second_error(
    project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The metadata database is full too: the run's own error is the one raised."""
    from riskwatch.errors import RiskwatchError
    from riskwatch.pipeline import run as pipeline
    from riskwatch.storage import runs

    def full(*_: object, **__: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setenv("RISKWATCH_TEST_FAIL_REPORT", "ENOSPC")
    monkeypatch.setenv("RISKWATCH_PACKAGE_INDEX", "http://127.0.0.1:9")
    monkeypatch.setattr(runs, "finish_run", full)
    ctx = open_context(project)
    with (
        caplog.at_level(logging.WARNING, logger="riskwatch"),
        ctx.ws.lock(),
        pytest.raises(RiskwatchError, match="No space left on device"),
    ):
        pipeline.run(ctx)
    assert any("could not record its failure" in r.getMessage() for r in caplog.records)
    assert not any(r.exc_info for r in caplog.records)  # no traceback in the log either


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "/ws/datasets/p.parquet"),
            "/ws/datasets/p.parquet: No space left on device",
        ),
        (OSError(errno.EROFS, "Read-only file system"), "Read-only file system"),
        (OSError(errno.EACCES, "Permission denied", "/ws/models"), "/ws/models: Permission denied"),
        (
            sqlite3.OperationalError("database or disk is full"),
            "metadata database: database or disk is full",
        ),
        (OSError(errno.ENOENT, "No such file or directory", "x"), None),
        (ValueError("a bug"), None),
    ],
)
def test_machine_failures_are_one_line_bugs_keep_their_traceback(
    error: BaseException, expected: str | None
) -> None:
    from riskwatch.pipeline.failures import machine_error

    assert machine_error(error) == expected


def test_a_run_with_nothing_new_removes_orphan_temp_reports(
    demo_project: Path, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    shutil.copytree(demo_project.parent, root, ignore=shutil.ignore_patterns("serve-*.log"))
    config = root / demo_project.name
    orphan = root / "ws" / "reports" / ".tmp-killed"
    orphan.mkdir(parents=True)
    (orphan / "report.pdf").write_bytes(b"%PDF half")
    done = run_cli("run", config=config, env=OFFLINE)
    assert done.returncode == 0 and "no new data" in done.stdout, done.stderr
    assert not orphan.exists()

"""The default: a run records its decisions, then a child process writes the report."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import drop
from tests.helpers import COURSE, course_sections, run_cli, write_config


def test_the_report_is_written_after_the_run_by_a_child_process(tmp_path: Path) -> None:
    (tmp_path / "incoming").mkdir()
    config = write_config(tmp_path, {**course_sections(), "report": {"background": True}})
    drop(config, *sorted((COURSE / "practicedata").glob("*.csv")))
    done = run_cli(
        "run", "--json", config=config, env={"RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"}
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    report_step = next(s for s in result["steps"] if s["step"] == "report")
    assert result["report"] is None and "in the background" in report_step["decision"]
    reports = tmp_path / "ws" / "reports"
    deadline = time.monotonic() + 120
    while not any((p / "report.html").exists() for p in reports.glob("2*")):
        assert time.monotonic() < deadline, (tmp_path / "ws" / "logs" / "report.log").read_text()
        time.sleep(0.5)
    # recorded in the run's history and marked: the next run has nothing left to do
    while True:
        history = json.loads(run_cli("runs", "--json", config=config).stdout)
        steps = [s["decision"] for s in history[0]["steps"] if s["step"] == "report"]
        if any("(background)" in d for d in steps) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert any("(background)" in d for d in steps), steps
    again = json.loads(run_cli("run", "--json", config=config).stdout)
    assert again["status"] == "nothing_new"
    # writing it again for the same version does nothing
    twice = run_cli("report", "--for-version", "1", config=config)
    assert twice.returncode == 0 and "already written" in twice.stdout

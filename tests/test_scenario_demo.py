"""Acceptance: the production scenario on demo data, month by month through `riskwatch run`.

Drift is injected from month 7. Months before pass; the drift month is flagged and a retrain
happens; a challenger that has seen post-drift data beats the old champion on post-drift data and
is promoted; the report shows the new champion.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from riskwatch.demo import DemoSpec, generate, month_batches
from tests.helpers import demo_contract, run_cli, write_config

pytestmark = pytest.mark.slow
DRIFT_MONTH = 7


def _q(config: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(config.parent / "ws" / "metadata.db") as db:
        return db.execute(sql).fetchall()


def test_month_by_month(tmp_path: Path) -> None:
    (tmp_path / "incoming").mkdir()
    config = write_config(
        tmp_path,
        {
            "workspace": {"path": "ws"},
            "contract": demo_contract(),
            "sources": {"drop": {"kind": "folder", "path": "incoming"}},
            "training": {"model": "auto", "time_budget_seconds": 60},
        },
    )
    months = month_batches(
        generate(DemoSpec(clients=4000, months=9, drift_month=DRIFT_MONTH, seed=2))
    )
    env = {"RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"}
    for i in range(4):
        months[i].to_csv(tmp_path / "incoming" / f"month-{i + 1:02d}.csv", index=False)
    first = run_cli("run", "--json", config=config, env=env)
    assert first.returncode == 0, first.stderr
    verdicts: dict[int, str] = {}
    for m in range(5, 10):
        months[m - 1].to_csv(tmp_path / "incoming" / f"month-{m:02d}.csv", index=False)
        done = run_cli("run", "--json", config=config, env=env)
        assert done.returncode == 0, done.stderr
        verdicts[m] = _q(config, "SELECT verdict FROM drift_checks ORDER BY id DESC LIMIT 1")[0][0]
    assert verdicts[5] == verdicts[6] == "no_drift"
    assert verdicts[DRIFT_MONTH] == "drift"
    gates = _q(
        config,
        "SELECT candidate, champion, candidate_score, champion_score, decision FROM deployments "
        "WHERE champion IS NOT NULL ORDER BY id",
    )
    assert gates, "drift must lead to a retrain and a gate decision"
    promoted = [g for g in gates if g[4] == "promoted"]
    assert (
        promoted and promoted[-1][2] > promoted[-1][3]
    )  # beats the old champion on post-drift rows
    champion = _q(config, "SELECT version FROM aliases WHERE alias = 'champion'")[0][0]
    assert champion == promoted[-1][0]
    runs = json.loads(run_cli("runs", "--json", config=config).stdout)
    assert [r["status"] for r in runs] == ["ok"] * 6
    report = sorted(
        p for p in (tmp_path / "ws" / "reports").iterdir() if (p / "report.html").exists()
    )[-1]
    assert f"model v{champion}" in (report / "report.html").read_text()

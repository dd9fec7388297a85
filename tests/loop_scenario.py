"""The demo loop scenario: months arrive one at a time through `riskwatch run`; the model serving
each month is scored on that month before it is ingested (forward metrics).

Shared by tests/test_loop_acceptance.py and bench/loop_demo.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import demo_contract, open_context, write_config


def project(root: Path, **sections: dict[str, Any]) -> Path:
    """A demo project with a drop folder ``incoming``; returns the config."""
    (root / "incoming").mkdir(parents=True, exist_ok=True)
    return write_config(
        root,
        {
            "workspace": {"path": "ws"},
            "contract": demo_contract(),
            "sources": {"drop": {"kind": "folder", "path": "incoming"}},
            **sections,
        },
    )


def _run(config: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "riskwatch", "--config", str(config), "run", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env={**__import__("os").environ, "RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"},
    )
    if done.returncode not in (0, 3):
        raise AssertionError(f"run failed ({done.returncode}): {done.stderr}")
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def forward(config: Path, month: Any) -> dict[str, Any]:
    """The serving champion's metrics on a month it has not seen."""
    import numpy as np

    from riskwatch.model.metrics import compute_metrics, expected_calibration_error

    ctx = open_context(config)
    model = ctx.champion()
    assert model is not None
    p = model.risk(month)
    y = month["exited"].astype(int).to_numpy()
    m = compute_metrics(y, p)
    return {
        "serving": model.version,
        "roc_auc": m["roc_auc"],
        "predicted": float(np.mean(p)),
        "observed": float(np.mean(y)),
        "ece": expected_calibration_error(y, p),
    }


def play(
    root: Path,
    *,
    clients: int = 10_000,
    months: int = 12,
    drift_month: int = 7,
    first: int = 6,
    seed: int = 0,
    **sections: dict[str, Any],
) -> list[dict[str, Any]]:
    """Months 1..first in one run, then one month per run; one row per later month."""
    from riskwatch.demo import DemoSpec, generate, month_batches

    config = project(root, **sections)
    batches = month_batches(
        generate(DemoSpec(clients=clients, months=months, drift_month=drift_month, seed=seed))
    )
    for i in range(first):
        batches[i].to_csv(root / "incoming" / f"month-{i + 1:02d}.csv", index=False)
    _run(config)
    rows = []
    for i in range(first, months):
        row = {"month": i + 1, **forward(config, batches[i])}
        batches[i].to_csv(root / "incoming" / f"month-{i + 1:02d}.csv", index=False)
        result = _run(config)
        steps = {s["step"]: s for s in result["steps"]}
        row["retrained"] = "train" in steps
        row["promoted"] = "deploy" in steps and steps["deploy"]["decision"].startswith("promoted")
        row["champion_after"] = result["champion"]
        row["outcome"] = result["outcome"]
        rows.append(row)
    return rows

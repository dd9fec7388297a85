"""Every example in examples/ runs from a clone, with paths relative to itself (the alert rules
example is checked by promtool in tests/test_alerts.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli

EXAMPLES = Path(__file__).parents[1] / "examples"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["course.toml", "bank-churn.toml"])
def test_example_config_runs(tmp_path: Path, name: str) -> None:
    env = {
        "RISKWATCH_WORKSPACE": str(tmp_path / "ws"),
        "RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9",
    }
    done = run_cli("--config", str(EXAMPLES / name), "run", "--wait", "--json", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["champion"] == 1 and result["report"]
    status = json.loads(
        run_cli("--config", str(EXAMPLES / name), "status", "--json", env=env).stdout
    )
    metrics = status["champion"]["metrics"]
    if name == "course.toml":
        assert metrics["f1"] == pytest.approx(0.5714, abs=1e-4)  # the course's figure
    else:
        assert metrics["roc_auc"] > 0.83  # bank churn: above plain logistic regression (0.766)
        card = json.loads((tmp_path / "ws" / "models" / "v1" / "card.json").read_text())
        assert "Gender" not in card["features"] and "Gender" in card["fairness"]

"""Sensitive attributes: declared ones are kept out of the model and reported by group; an
undeclared column that looks like one is flagged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tests.helpers import run_cli, write_config


def _clients(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gender = rng.choice(["F", "M"], n)
    activity = rng.gamma(2.0, 50.0, n)
    left = rng.random(n) < 1 / (
        1 + np.exp(-(-1.0 - 0.02 * (activity - 100) + 0.5 * (gender == "F")))
    )
    return pd.DataFrame(
        {
            "client": [f"C{i:05d}" for i in range(n)],
            "activity": activity,
            "plan": rng.choice(["basic", "pro"], n),
            "Gender": gender,
            "left": left.astype(int),
        }
    )


def _project(root: Path, **contract: object) -> Path:
    (root / "in").mkdir(parents=True, exist_ok=True)
    _clients().to_csv(root / "in" / "clients.csv", index=False)
    return write_config(
        root,
        {
            "workspace": {"path": "ws"},
            "contract": {
                "id_column": "client",
                "target_column": "left",
                "positive_label": 1,
                **contract,
            },
            "sources": {"d": {"kind": "folder", "path": "in", "settle_seconds": 0}},
            "training": {"model": "logistic"},
            "scoring": {"threshold": 0.3},
        },
    )


def _card(root: Path) -> dict:
    return json.loads((root / "ws" / "models" / "v1" / "card.json").read_text())


def test_a_declared_sensitive_attribute_is_not_a_feature_and_is_reported_by_group(
    tmp_path: Path,
) -> None:
    config = _project(tmp_path, sensitive=["Gender"])
    done = run_cli("run", config=config, env={"RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"})
    assert done.returncode == 0, done.stderr
    card = _card(tmp_path)
    assert "Gender" not in card["features"] and not card["warnings"]
    groups = card["fairness"]["Gender"]
    assert {g["group"] for g in groups["groups"]} == {"F", "M"}
    assert 0 < groups["ratios"]["selection_rate"] <= 1
    assert sum(g["rows"] for g in groups["groups"]) == card["gate"]["rows"]
    assert "Groups by Gender" in (tmp_path / "ws" / "models" / "v1" / "card.md").read_text()


def test_use_sensitive_makes_it_a_feature_again(tmp_path: Path) -> None:
    config = _project(tmp_path, sensitive=["Gender"], use_sensitive=True)
    assert run_cli("ingest", config=config).returncode == 0
    done = run_cli("train", config=config)
    assert done.returncode == 0, done.stderr
    card = json.loads((tmp_path / "ws" / "models" / "v1" / "card.json").read_text())
    assert "Gender" in card["features"] and "Gender" in card["fairness"]


def test_an_undeclared_attribute_that_looks_sensitive_is_flagged(tmp_path: Path) -> None:
    config = _project(tmp_path)
    assert run_cli("ingest", config=config).returncode == 0
    done = run_cli("train", config=config)
    assert done.returncode == 0 and "'Gender' looks like a protected attribute" in done.stderr
    assert "Gender" in _card(tmp_path)["features"] and _card(tmp_path)["warnings"]

"""The loop's promises, through the CLI as a user runs it: exit codes and the health verdict,
production state only from production, init, thresholds, small data, and training/scoring parity."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskwatch.demo import DemoSpec, generate, month_batches
from tests.conftest import drop
from tests.helpers import (
    COURSE,
    course_sections,
    demo_config,
    demo_contract,
    run_cli,
    write_config,
)

NO_INDEX = {"RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"}


def _demo_project(root: Path, months: int = 2, **sections: dict) -> Path:
    (root / "incoming").mkdir(parents=True, exist_ok=True)
    for i, batch in enumerate(
        month_batches(generate(DemoSpec(clients=1200, months=months, seed=3)))
    ):
        batch.to_csv(root / "incoming" / f"month-{i + 1}.csv", index=False)
    return demo_config(root, **sections)


def _status(config: Path) -> dict:
    done = run_cli("status", "--json", config=config)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_rejected_file_exits_3_and_health_says_attention_until_it_is_fixed(
    course_project: Path,
) -> None:
    drop(course_project, COURSE / "practicedata" / "dataset1.csv")
    assert run_cli("run", config=course_project, env=NO_INDEX).returncode == 0
    bad = course_project.parent / "incoming" / "broken.csv"
    bad.write_text("corporation,lastmonth_activity,exited\nabcd,1,0\n")  # columns missing
    done = run_cli("run", config=course_project, env=NO_INDEX)
    assert done.returncode == 3, done.stderr
    assert "broken.csv" in done.stderr and "Traceback" not in done.stderr
    assert run_cli("status", "--check", config=course_project).returncode == 1
    reasons = _status(course_project)["reasons"]
    assert [r["kind"] for r in reasons] == ["data_rejected"] and "broken.csv" in reasons[0]["key"]
    # fixed: the same file, now complete, is ingested and the reason clears
    shutil.copy(COURSE / "practicedata" / "dataset2.csv", bad)
    assert run_cli("run", config=course_project, env=NO_INDEX).returncode == 0
    check = run_cli("status", "--check", config=course_project)
    assert check.returncode == 0 and check.stdout.startswith("OK"), check.stdout


def test_quarantine_beyond_the_share_exits_3(course_project: Path) -> None:
    drop(course_project, COURSE / "practicedata" / "dataset1.csv")  # the contract's types
    assert run_cli("run", config=course_project, env=NO_INDEX).returncode == 0
    rows = ["corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited"]
    rows += [f"c{i},{'lots' if i % 2 else i},{i * 10},{i + 3},{i % 2}" for i in range(40)]
    (course_project.parent / "incoming" / "half-bad.csv").write_text("\n".join(rows) + "\n")
    done = run_cli("run", config=course_project, env=NO_INDEX)
    assert done.returncode == 3, done.stderr
    assert "half-bad.csv" in done.stderr and "quarantined" in done.stderr
    kinds = [r["kind"] for r in _status(course_project)["reasons"]]
    assert "data_quarantined" in kinds


def test_unreachable_source_makes_health_failing(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {
            "workspace": {"path": "ws"},
            "contract": {"id_column": "id", "target_column": "y", "positive_label": 1},
            "sources": {
                "db": {
                    "kind": "sql",
                    "url": "postgresql://postgres@127.0.0.1:1/test",
                    "table": "t",
                    "watermark": "id",
                }
            },
        },
    )
    assert run_cli("run", config=config).returncode == 4
    check = run_cli("status", "--check", config=config)
    assert check.returncode == 2 and check.stdout.startswith("FAILING")
    assert len(check.stdout.splitlines()[1]) <= 110  # reasons are short lines


def test_ad_hoc_drift_check_changes_no_production_state(tmp_path: Path) -> None:
    config = _demo_project(tmp_path)
    assert run_cli("run", config=config, env=NO_INDEX).returncode == 0
    before = _status(config)
    drifted = month_batches(generate(DemoSpec(clients=1200, months=8, drift_month=7, seed=9)))[7]
    drifted.to_csv(tmp_path / "adhoc.csv", index=False)
    done = run_cli("drift", "--input", str(tmp_path / "adhoc.csv"), "--json", config=config)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verdict"] == "drift"  # it did find the drift ...
    after = _status(config)  # ... and status, the API and reports still show production
    assert after["last_drift"] == before["last_drift"] and after["health"] == before["health"]
    with sqlite3.connect(tmp_path / "ws" / "metadata.db") as db:
        assert db.execute("SELECT COUNT(*) FROM drift_checks").fetchone()[0] == 0
    scored = run_cli("score", config=config)  # a manual score prints and records nothing
    assert scored.returncode == 0
    with sqlite3.connect(tmp_path / "ws" / "metadata.db") as db:
        assert db.execute("SELECT COUNT(*) FROM model_metrics").fetchone()[0] == 1


def test_init_writes_a_template_for_your_data_and_the_demo_on_request(tmp_path: Path) -> None:
    from riskwatch.config import load_settings

    assert run_cli("init", str(tmp_path / "own.toml")).returncode == 0
    own = (tmp_path / "own.toml").read_text()
    assert (
        "\nsnapshot_column" not in own
        and "\nvalue_column" not in own
        and "sql" not in own.split("[sources.drop]")[1].split("#")[0]
    )
    assert run_cli("init", "--demo", str(tmp_path / "demo.toml")).returncode == 0
    demo = load_settings(tmp_path / "demo.toml")
    assert demo.contract.snapshot_column == "snapshot_date" and "demo" in demo.sources
    again = run_cli("init", str(tmp_path / "own.toml"))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_init_from_a_sample_proposes_and_explains_the_contract(tmp_path: Path) -> None:
    from riskwatch.config import load_settings

    rng = np.random.default_rng(0)
    n = 600
    sample = pd.DataFrame(
        {
            "RowNum": range(1, n + 1),
            "AccountId": [f"A{i:05d}" for i in range(n)],
            "Surname": [f"name{rng.integers(0, 10_000)}" for _ in range(n)],
            "Gender": rng.choice(["F", "M"], n),
            "Plan": rng.choice(["basic", "pro", "enterprise"], n),
            "MonthlyRevenue": rng.gamma(2, 300, n).round(2),
            "Logins": rng.poisson(20, n),
            "ChurnDate": "",
            "Churned": rng.choice(["Yes", "No"], n, p=[0.2, 0.8]),
        }
    )
    sample.to_csv(tmp_path / "sample.csv", index=False)
    done = run_cli("init", "--from", str(tmp_path / "sample.csv"), str(tmp_path / "riskwatch.toml"))
    assert done.returncode == 0, done.stderr
    assert "AccountId" in done.stdout and "Gender" in done.stdout  # each guess explained
    settings = load_settings(tmp_path / "riskwatch.toml")
    contract = settings.contract
    assert (contract.id_column, contract.target_column) == ("AccountId", "Churned")
    assert (contract.positive_label, contract.negative_label) == ("Yes", "No")
    assert contract.value_column == "MonthlyRevenue"
    assert {"RowNum", "Surname"} <= set(contract.exclude)
    text = (tmp_path / "riskwatch.toml").read_text()
    assert "WARNING Gender" in text
    # the proposal runs as it is
    (tmp_path / "incoming").mkdir()
    shutil.copy(tmp_path / "sample.csv", tmp_path / "incoming" / "sample.csv")
    run = run_cli("run", config=tmp_path / "riskwatch.toml", env=NO_INDEX)
    assert run.returncode == 0, run.stderr


def test_init_from_a_missing_file_is_one_line(tmp_path: Path) -> None:
    done = run_cli("init", "--from", str(tmp_path / "nope.csv"), str(tmp_path / "x.toml"))
    assert done.returncode == 6 and len(done.stderr.strip().splitlines()) == 1
    assert "nope.csv" in done.stderr and not (tmp_path / "x.toml").exists()


@pytest.mark.parametrize(
    ("rule", "expected"),
    [("capacity", "capacity"), ("f1", "f1"), (0.3, "configured")],
)
def test_decisions_use_the_threshold_people_chose(
    tmp_path: Path, rule: object, expected: str
) -> None:
    config = _demo_project(tmp_path, scoring={"threshold": rule, "top_k_count": 50})
    assert run_cli("run", config=config, env=NO_INDEX).returncode == 0
    model = json.loads(run_cli("models", "--json", config=config).stdout)[0]
    card = json.loads((tmp_path / "ws" / "models" / "v1" / "card.json").read_text())
    assert card["threshold_rule"].startswith(expected) and model["threshold"] == card["threshold"]
    from fastapi.testclient import TestClient

    from riskwatch.api import create_app
    from riskwatch.config import load_settings

    client = TestClient(create_app(load_settings(config)))
    risk = client.get("/risk?top=2000").json()
    flagged = [c for c in risk["clients"] if c["at_risk"]]
    assert risk["threshold"] == pytest.approx(card["threshold"])
    assert all(c["risk"] >= card["threshold"] for c in flagged)
    if rule == "capacity":
        assert len(flagged) == 50  # the team's capacity, exactly
    if rule == 0.3:
        assert card["threshold"] == 0.3
    metrics = client.get("/scoring").json()["metrics"]
    assert metrics["threshold"] == pytest.approx(card["threshold"])


def test_small_evaluation_data_is_named(course_project: Path) -> None:
    config = write_config(course_project.parent, course_sections())
    drop(config, *sorted((COURSE / "practicedata").glob("*.csv")))
    assert run_cli("run", config=config, env=NO_INDEX).returncode == 0
    champion = _status(config)["champion"]
    assert champion["warning"].startswith("5 rows") and "too few" in champion["warning"]
    assert "too few to judge" in run_cli("status", config=config).stdout
    drop(config, COURSE / "validation_data" / "no_drift" / "no_drift.csv", sub="v")
    assert run_cli("run", config=config, env=NO_INDEX).returncode == 0
    last = _status(config)["last_drift"]
    assert last["verdict"] == "insufficient_data" and "too few" in last["reasons"][0]


def test_missing_and_unseen_categories_are_scored_as_in_training(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from riskwatch.api import create_app
    from riskwatch.config import load_settings

    config = _demo_project(tmp_path)
    assert run_cli("run", config=config, env=NO_INDEX).returncode == 0
    clients = month_batches(generate(DemoSpec(clients=50, months=1, seed=11)))[0]
    clients["industry"] = clients["industry"].astype(object)
    clients.loc[:9, "industry"] = ""  # empty in a CSV: missing, as training treats it
    clients.loc[10:14, "industry"] = "space mining"  # never seen in training
    clients.drop(columns="exited").to_csv(tmp_path / "clients.csv", index=False)
    out = tmp_path / "scores.csv"
    done = run_cli("predict", "-i", str(tmp_path / "clients.csv"), "-o", str(out), config=config)
    assert done.returncode == 0, done.stderr
    scored = pd.read_csv(out).set_index("id")["risk"]
    client = TestClient(create_app(load_settings(config)))
    features = [c for c in clients.columns if c not in ("exited", "snapshot_date")]
    records = clients[features].astype(object).where(clients[features].notna(), None)
    missing = records.iloc[:10].to_dict(orient="records")
    for r in missing:
        r["industry"] = None
    api = client.post("/prediction", json={"records": missing}).json()["predictions"]
    for p in api:
        assert p["risk"] == pytest.approx(scored[p["id"]], abs=1e-6)  # "" == null == missing
    unseen = client.post(
        "/prediction", json={"records": records.iloc[10:15].to_dict(orient="records")}
    ).json()["predictions"]
    assert all(p["unseen"] == ["industry"] for p in unseen)


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), fmt=st.sampled_from(["csv", "parquet"]))
def test_a_batch_drawn_from_the_reference_never_drifts(tmp_path: Path, seed: int, fmt: str) -> None:
    from riskwatch.config import ContractSettings, MonitoringSettings
    from riskwatch.ingest.rules import validate
    from riskwatch.monitoring.drift import DataDriftCalculator
    from riskwatch.schema import ROW_COLUMN, resolve_schema
    from riskwatch.storage.files import read_chunks

    raw = month_batches(generate(DemoSpec(clients=4000, months=1, seed=1)))[0]
    schema = resolve_schema(ContractSettings(**demo_contract()), raw)
    reference, _ = validate(raw, schema)  # the stored types: float64 numbers, text categories
    sample = raw.sample(n=3000, replace=True, random_state=seed)
    path = tmp_path / f"batch-{seed}.{fmt}"
    sample.to_csv(path, index=False) if fmt == "csv" else sample.to_parquet(path, index=False)
    batch = pd.concat(list(read_chunks(path)), ignore_index=True).drop(columns=[ROW_COLUMN])
    result = DataDriftCalculator(MonitoringSettings(), schema).fit(reference).calculate(batch)
    assert result.drifted_columns == [] and not result.dataset_drift

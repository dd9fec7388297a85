"""Training, scoring and the registry on real workspaces: lineage, safety, gate, rollback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskwatch.config import load_settings
from riskwatch.context import RunContext
from riskwatch.errors import ModelError, NotFound
from riskwatch.ingest import job
from riskwatch.model.metrics import compute_metrics
from riskwatch.registry import lifecycle
from riskwatch.registry.artifacts import load_model
from riskwatch.registry.evalsets import evaluation_rows, training_rows
from riskwatch.storage import models as store
from tests.helpers import open_context, run_cli, write_config


def _clients(
    n: int, seed: int = 0, *, labels: tuple[object, object] = (1, 0), missing: float = 0.0
) -> pd.DataFrame:
    """Clients whose attrition depends on activity, tickets and industry (with noise)."""
    rng = np.random.default_rng(seed)
    activity = rng.gamma(2.0, 50.0, n)
    tickets = rng.poisson(2, n).astype(float)
    industry = rng.choice(["retail", "tech", "energy", "health"], n)
    logit = (
        -1.0
        - 0.02 * (activity - 100)
        + 0.4 * (tickets - 2)
        + np.where(industry == "retail", 1.0, 0.0)
    )
    left = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "client": [f"C{i:05d}" for i in range(n)],
            "activity": activity,
            "tickets": tickets,
            "industry": industry,
            "status": np.where(left, labels[0], labels[1]),
        }
    )
    if missing:
        frame.loc[rng.random(n) < missing, "activity"] = np.nan
    return frame


def _project(tmp_path: Path, frame: pd.DataFrame, **sections: dict[str, object]) -> tuple:
    (tmp_path / "in").mkdir(exist_ok=True)
    frame.to_csv(tmp_path / "in" / "clients.csv", index=False)
    positive = frame["status"].iloc[0] if isinstance(frame["status"].iloc[0], str) else 1
    contract = {"id_column": "client", "target_column": "status", "positive_label": positive}
    if isinstance(positive, str):
        contract["positive_label"] = "Yes" if "Yes" in set(frame["status"]) else "Attrited Customer"
        contract["negative_label"] = "No" if "No" in set(frame["status"]) else "Existing Customer"
    cfg = write_config(
        tmp_path,
        {
            "workspace": {"path": "ws"},
            "contract": contract,
            "sources": {"drop": {"kind": "folder", "path": "in"}},
            **sections,
        },
    )
    ctx = open_context(cfg)
    report = job.ingest(ctx)
    assert report.accepted == len(frame)
    return ctx, cfg


@pytest.mark.parametrize("kind", ["logistic", "gradient_boosting", "auto"])
def test_each_model_kind_trains_calibrated_and_records_lineage(tmp_path: Path, kind: str) -> None:
    training = {"model": kind, "time_budget_seconds": 60, "calibration": "sigmoid"}
    ctx, _ = _project(tmp_path, _clients(1500), training=training)
    out = lifecycle.train_and_register(ctx, reason="test")
    model = load_model(ctx.settings, ctx.ws, ctx.db, out.version)
    card = model.card
    assert card["dataset_version"] == 1 and len(card["dataset_fingerprint"]) == 64
    assert card["calibration"]["method"] == "sigmoid" and card["packages"]["scikit-learn"]
    if kind == "auto":
        assert {"logistic", "gradient_boosting"} <= set(card["selection"]["scores"])
        assert (
            card["selection"]["winner"] == card["kind"]
            and "highest cross-validated" in card["selection"]["why"]
        )
    assert 0.6 < out.metrics["roc_auc"] <= 1.0
    # the stored hold-out is found again by a new run: the same rows
    fresh = RunContext(ctx.settings, ctx.db, ctx.ws)
    assert len(evaluation_rows(fresh, out.version)) == out.metrics["rows"] == card["gate"]["rows"]
    # no champion: the model that passed was refit on every row, the hold-out included; its
    # figures stay those measured out of sample, and a later score says so
    assert card["refit_on_all_rows"] and len(training_rows(fresh, out.version)) == 1500
    again = lifecycle.score_model(fresh, out.version)
    assert (
        again["roc_auc"] == pytest.approx(out.metrics["roc_auc"])
        and "out of sample" in again["note"]
    )
    assert (
        (ctx.ws.models / f"v{out.version}" / "card.md")
        .read_text()
        .startswith(f"# Model v{out.version}")
    )


@pytest.mark.parametrize("labels", [("Yes", "No"), ("Attrited Customer", "Existing Customer")])
def test_string_labels_categorical_and_missing_values(
    tmp_path: Path, labels: tuple[str, str]
) -> None:
    ctx, _ = _project(
        tmp_path, _clients(800, labels=labels, missing=0.2), training={"model": "logistic"}
    )
    out = lifecycle.train_and_register(ctx)
    model = load_model(ctx.settings, ctx.ws, ctx.db, out.version)
    assert "industry" in model.schema.categorical
    probe = pd.DataFrame(
        {"activity": [np.nan, 10.0], "tickets": [1.0, 9.0], "industry": ["never-seen", None]}
    )
    risk = model.risk(probe)
    assert risk.shape == (2,) and np.all((risk > 0) & (risk < 1))
    reasons = model.factors(probe)
    assert any(f["feature"] == "tickets" for f in reasons[1])


def test_tiny_data_adapts(tmp_path: Path) -> None:
    frame = _clients(26, seed=3)
    frame.loc[:3, "status"] = 1
    ctx, _ = _project(tmp_path, frame, training={"model": "auto"})
    out = lifecycle.train_and_register(ctx)
    assert out.version == 1


def test_undefined_metrics_are_reported_not_faked() -> None:
    m = compute_metrics([0, 0, 0], [0.1, 0.7, 0.2])
    assert m["roc_auc"] is None and "one class" in m["undefined"]["roc_auc"]
    assert m["recall"] is None and m["f1"] == 0.0  # one false positive, no positives
    m = compute_metrics([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.3], top_k_fraction=0.5, top_k_count=1)
    assert (
        m["roc_auc"] == 1.0 and m["precision_at_k_fraction"] == 1.0 and m["lift_at_k_count"] == 2.0
    )


def test_tampered_artifact_is_refused_and_champion_keeps_serving(tmp_path: Path) -> None:
    ctx, _ = _project(tmp_path, _clients(600), training={"model": "logistic"})
    v1 = lifecycle.train_and_register(ctx).version
    lifecycle.deploy(ctx, v1)
    v2 = lifecycle.train_and_register(ctx).version
    artifact = ctx.ws.models / f"v{v2}" / "model.joblib"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        load_model(ctx.settings, ctx.ws, ctx.db, v2)
    with pytest.raises(ModelError):  # a new run loads (and verifies) it before the gate
        lifecycle.deploy(RunContext(ctx.settings, ctx.db, ctx.ws), v2)
    assert RunContext(ctx.settings, ctx.db, ctx.ws).champion().version == v1  # type: ignore[union-attr]


def test_gate_keeps_a_worse_challenger_out_and_rollback(tmp_path: Path) -> None:
    ctx, _cfg = _project(tmp_path, _clients(1500), training={"model": "logistic"})
    good = lifecycle.train_and_register(ctx).version
    assert lifecycle.deploy(ctx, good).promoted
    # a weaker challenger on the same data: the course preset ignores the categorical industry
    weak_settings = load_settings(
        write_config(
            tmp_path,
            {
                "workspace": {"path": "ws"},
                "contract": {"id_column": "client", "target_column": "status", "positive_label": 1},
                "sources": {"drop": {"kind": "folder", "path": "in"}},
                "training": {"model": "course"},
            },
            name="weak.toml",
        )
    )
    weak = lifecycle.train_and_register(RunContext(weak_settings, ctx.db, ctx.ws)).version
    decision = lifecycle.deploy(ctx, weak)
    assert not decision.promoted and decision.candidate_score < decision.champion_score  # type: ignore[operator]
    assert store.champion_version(ctx.db) == good
    rows = ctx.db.execute("SELECT decision, candidate, champion FROM deployments ORDER BY id")
    assert rows[-1] == ("rejected", weak, good)
    with pytest.raises(Exception, match="reason"):
        lifecycle.deploy(ctx, weak, force=True)
    forced = lifecycle.deploy(ctx, weak, force=True, reason="testing the override")
    assert forced.promoted and forced.forced and store.champion_version(ctx.db) == weak
    assert lifecycle.rollback(ctx, reason="bad idea") == good
    assert store.champion_version(ctx.db) == good
    history = store.alias_history(ctx.db, "champion")
    assert [h["version"] for h in history] == [good, weak, good]
    assert store.champion_at(ctx.db, history[1]["at"]) == weak


def test_rollback_without_previous_is_a_clear_error(tmp_path: Path) -> None:
    ctx, _ = _project(tmp_path, _clients(300), training={"model": "logistic"})
    with pytest.raises(NotFound, match="previous"):
        lifecycle.rollback(ctx, reason="test")


def test_kill_during_deploy_leaves_a_loadable_champion(tmp_path: Path) -> None:
    ctx, cfg = _project(tmp_path, _clients(1500), training={"model": "logistic"})
    first = lifecycle.train_and_register(ctx).version
    lifecycle.deploy(ctx, first)
    for delay in (0.3, 0.8, 1.3, 1.8, 2.5):
        proc = subprocess.Popen(
            [sys.executable, "-m", "riskwatch", "--config", str(cfg), "train"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "riskwatch",
                "--config",
                str(cfg),
                "deploy",
                "--force",
                "--reason",
                "kill test",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        fresh = open_context(cfg)
        champion = fresh.champion()
        assert champion is not None and champion.risk(_clients(5).drop(columns="status")).shape == (
            5,
        )
        for row in store.model_rows(fresh.db):
            load_model(fresh.settings, fresh.ws, fresh.db, row["version"])
    # the next completed training clears what killed ones left half-written
    assert run_cli("train", config=cfg).returncode == 0
    assert not [p for p in ctx.ws.models.iterdir() if p.name.startswith(".staging")]


def test_model_cli_and_predict_file(tmp_path: Path) -> None:
    _ctx, cfg = _project(tmp_path, _clients(500), training={"model": "logistic"})
    assert run_cli("train", config=cfg).returncode == 0
    assert run_cli("deploy", config=cfg).returncode == 0
    listing = json.loads(run_cli("models", "--json", config=cfg).stdout)
    assert listing[0]["aliases"] == ["champion"]
    _clients(50, seed=9).drop(columns="status").to_csv(tmp_path / "new.csv", index=False)
    done = run_cli(
        "predict",
        "--input",
        str(tmp_path / "new.csv"),
        "--output",
        str(tmp_path / "out.csv"),
        config=cfg,
    )
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["id", "risk", "rank"] and out["rank"].tolist() == list(
        range(1, 51)
    )
    assert out["risk"].is_monotonic_decreasing


def test_predict_writes_csv_parquet_and_json_with_the_same_scores(tmp_path: Path) -> None:
    """The three output formats hold the same ids and exact risks; an id with a comma or a
    quote reads back as written; any other suffix is refused before any work (exit 2)."""
    _ctx, cfg = _project(tmp_path, _clients(400), training={"model": "logistic"})
    assert run_cli("train", config=cfg).returncode == 0
    assert run_cli("deploy", config=cfg).returncode == 0
    batch = _clients(30, seed=4).drop(columns="status")
    odd = ["acme, inc", 'say "hi"', "line\nbreak"]
    id_col = batch.columns[0]
    batch[id_col] = batch[id_col].astype(str)
    batch.loc[: len(odd) - 1, id_col] = odd
    batch.to_csv(tmp_path / "new.csv", index=False)
    outs = {}
    for suffix in ("csv", "parquet", "json"):
        target = tmp_path / f"out.{suffix}"
        done = run_cli("predict", "-i", str(tmp_path / "new.csv"), "-o", str(target), config=cfg)
        assert done.returncode == 0, done.stderr
        if suffix == "csv":
            outs[suffix] = pd.read_csv(target, dtype={"id": str})
        elif suffix == "parquet":
            outs[suffix] = pd.read_parquet(target)
        else:
            outs[suffix] = pd.DataFrame(json.loads(target.read_text()))
    first = outs["csv"]
    assert set(odd) <= set(first["id"])
    for frame in outs.values():
        assert frame["id"].astype(str).tolist() == first["id"].tolist()
        assert frame["risk"].tolist() == first["risk"].tolist()  # exact, not rounded
        assert frame["rank"].tolist() == list(range(1, 31))
    refused = run_cli("predict", "-i", str(tmp_path / "new.csv"), "-o", "x.txt", config=cfg)
    assert refused.returncode == 2 and "x.txt" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "x.txt").exists()


def test_training_max_rows_fits_a_stratified_sample_recorded_in_the_card(tmp_path: Path) -> None:
    """With training.max_rows the model is fitted on a stratified sample of that many labelled
    rows, said in the card (and the whole data is said when it fits)."""
    from riskwatch.model.splits import training_sample

    frame = _clients(1200)
    for name in ("capped", "whole"):
        (tmp_path / name).mkdir()
    _ctx, cfg = _project(
        tmp_path / "capped", frame, training={"model": "logistic", "max_rows": 400}
    )
    assert run_cli("train", config=cfg).returncode == 0
    card = json.loads(run_cli("models", "--json", config=cfg).stdout)[0]
    assert "sample of 400 of 1,200 labelled rows" in card["training_sample"]
    assert card["rows"] <= 400  # the sample, or its part before the hold-out
    _ctx, whole = _project(tmp_path / "whole", frame, training={"model": "logistic"})
    assert run_cli("train", config=whole).returncode == 0
    card = json.loads(run_cli("models", "--json", config=whole).stdout)[0]
    assert card["training_sample"] == "the whole labelled data (1,200 rows)"
    y = np.r_[np.ones(30, dtype=np.int64), np.zeros(970, dtype=np.int64)]
    mask, _ = training_sample(y, 100, seed=3)
    assert mask.sum() == 100 and y[mask].sum() == 3  # each label keeps its share
    assert (training_sample(y, 100, seed=3)[0] == mask).all()  # seeded


def test_a_tree_ensemble_scores_column_major_with_the_same_probabilities() -> None:
    """LoadedModel.risk gives a gradient boosting its rows column-major (faster, see
    model.scoring.positive_proba): the probabilities are exactly the Pipeline's, also through
    the recency wrapper; a linear model keeps the plain path."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from riskwatch.model.scoring import LoadedModel, positive_proba, tree_ensemble
    from riskwatch.model.training import ShiftedClassifier
    from tests.helpers import small_schema

    rng = np.random.default_rng(2)
    X = rng.normal(size=(3000, 4))
    y = (X[:, 0] + rng.normal(size=3000) > 0).astype(int)
    frame = pd.DataFrame(X, columns=list("abcd"))
    gbm = make_pipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=30)).fit(frame, y)
    shifted = make_pipeline(gbm[0], ShiftedClassifier(gbm[-1], 0.3))
    linear = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, y)
    assert tree_ensemble(gbm[-1]) and tree_ensemble(shifted[-1]) and not tree_ensemble(linear[-1])
    for pipe in (gbm, shifted, linear):
        model = LoadedModel(1, pipe, small_schema(), {}, 0.5)
        assert np.array_equal(model.risk(frame), pipe.predict_proba(frame)[:, 1])
        Z = pipe[:-1].transform(frame)
        assert np.array_equal(positive_proba(pipe[-1], Z), pipe[-1].predict_proba(Z)[:, 1])

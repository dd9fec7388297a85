"""The drift check job: can the champion still be trusted on a new batch? Stored with reasons.

Verdict rule: a batch with labels is judged by performance (data drift is reported beside it);
a batch without labels is judged by data/prediction drift only when
``monitoring.data_drift_triggers_retrain`` is set, otherwise those are reported as warnings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riskwatch.storage.metadata import now

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.config import Settings
    from riskwatch.registry import LoadedModel
    from riskwatch.storage.db import Database
    from riskwatch.storage.workspace import Workspace


@dataclass
class DriftCheck:
    """The outcome of one check."""

    verdict: str  # drift | no_drift | no_model
    retrain_recommended: bool
    reasons: list[str]
    batch: str
    model_version: int | None
    result: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "retrain_recommended": self.retrain_recommended,
            "reasons": self.reasons,
            "batch": self.batch,
            "model_version": self.model_version,
            **self.result,
        }


def check_batch(
    settings: Settings,
    ws: Workspace,
    db: Database,
    *,
    batch: pd.DataFrame,
    batch_name: str,
    model: LoadedModel | None = None,
    run_id: int | None = None,
) -> DriftCheck:
    """Check ``model`` (default: the champion) against ``batch``; store and return the verdict."""
    from riskwatch.registry import load_champion

    model = model or load_champion(settings, db, ws)
    if model is None:
        check = DriftCheck("no_model", True, ["no champion to check"], batch_name, None)
    else:
        check = _check(settings, ws, db, model, batch, batch_name)
    db.execute(
        "INSERT INTO drift_checks (run_id, batch, model_version, verdict, retrain, reasons, result, checked_at) "
        "VALUES (:r, :b, :m, :v, :t, :x, :j, :at)",
        {
            "r": run_id,
            "b": batch_name,
            "m": check.model_version,
            "v": check.verdict,
            "t": int(check.retrain_recommended),
            "x": json.dumps(check.reasons),
            "j": json.dumps(check.to_dict(), default=str),
            "at": now(),
        },
    )
    return check


def _check(
    settings: Settings,
    ws: Workspace,
    db: Database,
    model: LoadedModel,
    batch: pd.DataFrame,
    name: str,
) -> DriftCheck:
    import numpy as np

    from riskwatch.evaluation import compute_metrics
    from riskwatch.monitoring.drift import DataDriftCalculator, PredictionDriftCalculator
    from riskwatch.monitoring.performance import (
        PerformanceDriftCalculator,
        calibration_drift,
        compare_estimate,
        estimate_performance,
    )
    from riskwatch.registry import latest_metrics, training_frame

    cfg, sc, schema = settings.monitoring, settings.scoring, model.schema
    reference = training_frame(settings, ws, db, model)
    data = DataDriftCalculator(cfg, schema).fit(reference).calculate(batch)
    scores = model.predict_proba(batch) if len(batch) else np.empty(0)
    ref_scores = model.predict_proba(reference) if len(reference) else np.empty(0)
    prediction = PredictionDriftCalculator(cfg).fit(ref_scores).calculate(scores)
    prediction["top_k_overlap"] = _top_k_change(db, model, batch, scores, sc.top_k_count)
    has_label = (
        batch[schema.target_column].notna().to_numpy()
        if schema.target_column in batch
        else np.zeros(len(batch), bool)
    )
    estimate = estimate_performance(
        scores[~has_label] if (~has_label).any() else scores,
        top_k_fraction=sc.top_k_fraction,
        top_k_count=sc.top_k_count,
    )
    result: dict[str, Any] = {
        "data": data.to_dict(),
        "prediction": prediction,
        "estimate": estimate,
    }
    reasons: list[str] = []
    verdict, retrain = "no_drift", False
    if has_label.any():
        metric = cfg.performance_metric or sc.primary_metric
        base = latest_metrics(db, model.version) or {}
        perf = PerformanceDriftCalculator(
            metric,
            cfg.performance_test,
            cfg.performance_tolerance,
            threshold=model.threshold,
            top_k_fraction=sc.top_k_fraction,
            top_k_count=sc.top_k_count,
        )
        perf.fit(base.get(metric), _history(db, model.version, metric, base.get(metric)))
        y = batch.loc[has_label, schema.target_column].astype("int64").to_numpy()
        outcome = perf.calculate(y, scores[has_label])
        result["performance"] = outcome.to_dict()
        if not (~has_label).any():
            realised = compute_metrics(
                y,
                scores,
                threshold=model.threshold,
                top_k_fraction=sc.top_k_fraction,
                top_k_count=sc.top_k_count,
            )
            result["estimate_vs_realised"] = compare_estimate(estimate, realised)
        reasons.append(outcome.reason())
        if outcome.drifted:
            verdict, retrain = "drift", True
        calib = calibration_drift(y, scores[has_label], cfg.calibration_tolerance)
        result["calibration"] = calib
        if calib["drifted"]:
            verdict, retrain = "drift", True
            reasons.append(
                f"calibration drift: {calib['observed_rate']:.3f} of these clients left, the model "
                f"predicted {calib['predicted_rate']:.3f} (z = {calib['z']:.1f})"
            )
    if data.dataset_drift or prediction.get("drifted"):
        words = f"data drift in {len(data.drifted_columns)}/{len(data.columns)} features"
        words += ": " + "; ".join(data.reasons()) if data.reasons() else ""
        if prediction.get("drifted"):
            words += f"; risk scores drifted (mean {prediction['reference_mean']:.3f} -> {prediction['batch_mean']:.3f})"
        if not has_label.any() and cfg.data_drift_triggers_retrain:
            verdict, retrain = "drift", True
            reasons.append(words)
        else:
            reasons.append(
                words
                + (
                    " (reported; performance decides)"
                    if has_label.any()
                    else " (reported; monitoring.data_drift_triggers_retrain is off)"
                )
            )
    elif not has_label.any():
        reasons.append("no labels in the batch and no data drift")
    return DriftCheck(verdict, retrain, reasons, name, model.version, result)


def _history(db: Database, version: int, metric: str, baseline: float | None) -> list[float]:
    values = [] if baseline is None else [float(baseline)]
    for (text,) in db.execute(
        "SELECT result FROM drift_checks WHERE model_version = :v ORDER BY id", {"v": version}
    ):
        perf = json.loads(text).get("performance") or {}
        if perf.get("metric") == metric and isinstance(perf.get("value"), int | float):
            values.append(float(perf["value"]))
    return values


def _top_k_change(
    db: Database, model: LoadedModel, batch: pd.DataFrame, scores: Any, k: int
) -> float | None:
    """Share of the previous top-k ids still in the top k; stores this batch's top k."""
    import numpy as np

    if not len(batch):
        return None
    ids = batch[model.schema.id_column].astype(str).to_numpy()
    top = [str(i) for i in ids[np.argsort(-scores, kind="stable")][:k]]
    prev = db.scalar("SELECT top_ids FROM call_lists ORDER BY id DESC LIMIT 1")
    db.execute(
        "INSERT INTO call_lists (model_version, dataset_version, created_at, top_ids) VALUES (:m, NULL, :t, :i)",
        {"m": model.version, "t": now(), "i": json.dumps(top)},
    )
    if prev is None:
        return None
    before = set(json.loads(prev))
    return len(before & set(top)) / max(len(before), 1)


def latest_check(db: Database) -> dict[str, Any] | None:
    """The newest stored check (full result)."""
    row = db.scalar("SELECT result FROM drift_checks ORDER BY id DESC LIMIT 1")
    return None if row is None else dict(json.loads(row))

"""The drift check: can the champion still be trusted on a new batch? A result with reasons.

Verdict rule (:func:`decide`, pure): a batch with labels is judged by performance (data drift is
reported beside it); a batch without labels is judged by data/prediction drift only when
``monitoring.data_drift_triggers_retrain`` is set, otherwise those are reported as warnings.
A check records its own result (unless asked not to) and changes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from riskwatch.config import MonitoringSettings
    from riskwatch.context import RunContext
    from riskwatch.model.scoring import LoadedModel


@dataclass
class DriftCheck:
    """The outcome of one check."""

    verdict: str  # drift | no_drift | insufficient_data | no_model
    retrain_recommended: bool
    reasons: list[str]
    batch: str
    model_version: int | None
    result: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what is stored)."""
        return {
            "verdict": self.verdict,
            "retrain_recommended": self.retrain_recommended,
            "reasons": self.reasons,
            "batch": self.batch,
            "model_version": self.model_version,
            **self.result,
        }


def check_batch(
    ctx: RunContext,
    *,
    batch: pd.DataFrame,
    batch_name: str,
    model: LoadedModel | None,
    run_id: int | None = None,
    record: bool = True,
) -> DriftCheck:
    """Check ``model`` against ``batch``; store the result when ``record`` (production checks).

    Ad-hoc checks (``riskwatch drift --input``) pass ``record=False``: they print, and never change
    what status, the dashboard, the API or reports show.
    """
    if model is None:
        check = DriftCheck("no_model", True, ["no champion to check"], batch_name, None)
    else:
        check = _check(ctx, model, batch, batch_name)
    if record:
        from riskwatch.storage.records import record_drift_check

        record_drift_check(ctx.db, check.to_dict(), run_id=run_id)
    return check


def _reference_scores(ctx: RunContext, model: LoadedModel, reference: pd.DataFrame) -> np.ndarray:
    key = ("reference_scores", model.version)
    if key not in ctx.cache:
        ctx.cache[key] = model.risk(reference)
    scores: np.ndarray = ctx.cache[key]
    return scores


def _check(ctx: RunContext, model: LoadedModel, batch: pd.DataFrame, name: str) -> DriftCheck:
    import numpy as np

    from riskwatch.model.metrics import MIN_ROWS, compute_metrics, too_small
    from riskwatch.monitoring.drift import DataDriftCalculator, PredictionDriftCalculator
    from riskwatch.monitoring.performance import (
        PerformanceDriftCalculator,
        calibration_drift,
        compare_estimate,
        estimate_performance,
    )
    from riskwatch.registry.evalsets import training_rows
    from riskwatch.storage.models import latest_metrics
    from riskwatch.storage.records import latest_call_list, performance_history

    settings = ctx.settings
    cfg, sc, schema = settings.monitoring, settings.scoring, model.schema
    reference = training_rows(ctx, model.version)
    data = DataDriftCalculator(cfg, schema).fit(reference).calculate(batch)
    scores = model.risk(batch)
    ref_scores = _reference_scores(ctx, model, reference)
    prediction = PredictionDriftCalculator(cfg).fit(ref_scores).calculate(scores)
    previous = latest_call_list(ctx.db)
    prediction["top_k_overlap"] = top_k_overlap(
        batch[schema.id_column], scores, sc.top_k_count, previous["top_ids"] if previous else None
    )
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
    if has_label.any():
        metric = cfg.performance_metric or sc.primary_metric
        base = latest_metrics(ctx.db, model.version) or {}
        baseline = base.get(metric)
        history = ([] if baseline is None else [float(baseline)]) + performance_history(
            ctx.db, model.version, metric
        )
        perf = PerformanceDriftCalculator(
            metric,
            cfg.performance_test,
            cfg.performance_tolerance,
            threshold=model.threshold,
            top_k_fraction=sc.top_k_fraction,
            top_k_count=sc.top_k_count,
        )
        perf.fit(baseline, history)
        y = batch.loc[has_label, schema.target_column].astype("int64").to_numpy()
        result["performance"] = perf.calculate(y, scores[has_label]).to_dict()
        result["calibration"] = calibration_drift(y, scores[has_label], cfg.calibration_tolerance)
        if not (~has_label).any():
            realised = compute_metrics(
                y,
                scores,
                bootstrap=False,
                threshold=model.threshold,
                top_k_fraction=sc.top_k_fraction,
                top_k_count=sc.top_k_count,
            )
            result["estimate_vs_realised"] = compare_estimate(estimate, realised)
    if has_label.any():
        y_all = batch.loc[has_label, schema.target_column].astype("int64").to_numpy()
        result["small_batch"] = too_small(len(y_all), int(y_all.sum()))
    elif len(batch) < MIN_ROWS:
        result["small_batch"] = f"{len(batch)} rows: too few to judge drift"
    verdict, retrain, reasons = decide(
        result, labelled=bool(has_label.any()), data_reasons=data.reasons(), cfg=cfg
    )
    return DriftCheck(verdict, retrain, reasons, name, model.version, result)


def decide(
    result: dict[str, Any], *, labelled: bool, data_reasons: list[str], cfg: MonitoringSettings
) -> tuple[str, bool, list[str]]:
    """The verdict, whether to retrain, and the reasons, from a check's measurements (pure)."""
    from riskwatch.monitoring.performance import PerformanceResult

    reasons: list[str] = []
    verdict, retrain = "no_drift", False
    if labelled:
        outcome = PerformanceResult(**result["performance"])
        reasons.append(outcome.reason())
        if outcome.drifted:
            verdict, retrain = "drift", True
        calib = result["calibration"]
        if calib["drifted"]:
            verdict, retrain = "drift", True
            reasons.append(
                f"calibration drift: {calib['observed_rate']:.3f} of these clients left, the model "
                f"predicted {calib['predicted_rate']:.3f} (z = {calib['z']:.1f})"
            )
    data, prediction = result["data"], result["prediction"]
    if data["dataset_drift"] or prediction.get("drifted"):
        words = f"data drift in {len(data['drifted_columns'])}/{len(data['columns'])} features"
        words += ": " + "; ".join(data_reasons) if data_reasons else ""
        if prediction.get("drifted"):
            words += (
                f"; risk scores drifted (mean {prediction['reference_mean']:.3f} -> "
                f"{prediction['batch_mean']:.3f})"
            )
        if not labelled and cfg.data_drift_triggers_retrain:
            verdict, retrain = "drift", True
            reasons.append(words)
        else:
            reasons.append(
                words
                + (
                    " (reported; performance decides)"
                    if labelled
                    else " (reported; monitoring.data_drift_triggers_retrain is off)"
                )
            )
    elif not labelled:
        reasons.append("no labels in the batch and no data drift")
    small = result.get("small_batch")
    if verdict == "no_drift" and small:
        verdict = "insufficient_data"
        reasons.insert(0, small)
    return verdict, retrain, reasons


def unseen_categories(model: LoadedModel, batch: pd.DataFrame) -> dict[str, Any]:
    """Per categorical feature: how many rows hold a value training never saw, and the commonest."""
    from collections import Counter

    cols = [c for c in model.known_categories if c in batch.columns]
    if not cols or not len(batch):
        return {}
    records = batch[cols].to_dict(orient="records")
    counts: dict[str, Counter[str]] = {c: Counter() for c in cols}
    for record, unseen in zip(records, model.unseen(records), strict=True):
        for col in unseen:
            counts[col][str(record[col]).strip()] += 1
    return {
        col: {
            "rows": sum(c.values()),
            "share": sum(c.values()) / len(batch),
            "top": c.most_common(5),
        }
        for col, c in counts.items()
        if c
    }


def top_k_overlap(
    ids: pd.Series, scores: np.ndarray, k: int, previous: list[str] | None
) -> float | None:
    """Share of the previous call list's top k still in this batch's top k (None: no previous)."""
    import numpy as np

    if not len(ids) or previous is None:
        return None
    order = np.argsort(-np.asarray(scores), kind="stable")[:k]
    top = set(ids.astype(str).to_numpy()[order])
    before = set(previous[:k])
    return len(before & top) / max(len(before), 1)

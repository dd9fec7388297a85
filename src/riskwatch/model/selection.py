"""Pure model selection: the family, its parameters and the calibration, by cross-validation.

``auto`` tries logistic regression and histogram gradient boosting with their defaults, then
gradient-boosting variants (learning rate, leaves, leaf size, L2 regularisation; early stopping
always on) and a stronger-regularised logistic regression, while the time budget lasts, on at most
``CV_ROWS`` rows, and keeps the best by ``selection_metric``. Calibration ``auto`` is chosen by
cross-validated log loss on small data (where the choice matters and is cheap); on larger data
the log-loss-fitted probabilities are used as they are (measured on the out-of-time window).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from riskwatch.model.training import build, cv_folds

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.config import TrainingSettings
    from riskwatch.model.training import Plan
    from riskwatch.schema import DataSchema

CV_ROWS = 20_000  # cross-validation for model choice runs on at most this many rows
SMALL_ROWS = 5_000  # below this, calibration is chosen by cross-validation
GBM_VARIANTS: tuple[dict[str, Any], ...] = (
    {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20, "l2_regularization": 0.0},
    {"learning_rate": 0.03, "max_iter": 600, "max_leaf_nodes": 15, "min_samples_leaf": 80},
    {"learning_rate": 0.06, "max_leaf_nodes": 7, "min_samples_leaf": 100, "l2_regularization": 5.0},
    {"learning_rate": 0.1, "max_leaf_nodes": 15, "min_samples_leaf": 40, "l2_regularization": 3.0},
    {"learning_rate": 0.05, "max_iter": 500, "max_leaf_nodes": 31, "min_samples_leaf": 60},
)


def candidates(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """Families and parameters to try, most promising first."""
    if kind != "auto":
        return [(kind, {})]
    return [
        ("logistic", {}),
        ("gradient_boosting", {}),
        *(("gradient_boosting", v) for v in GBM_VARIANTS),
        ("logistic", {"C": 0.1}),
    ]


def label(kind: str, params: dict[str, Any]) -> str:
    """A short name for a candidate."""
    if not params:
        return kind
    return kind + "(" + ", ".join(f"{k}={v}" for k, v in sorted(params.items())) + ")"


def choose(
    X: pd.DataFrame,
    y: np.ndarray,
    schema: DataSchema,
    cfg: TrainingSettings,
    n_jobs: int | None = None,
) -> dict[str, Any]:
    """Cross-validate the candidates and pick the best by ``cfg.selection_metric``
    (``n_jobs``: folds in parallel on the active joblib backend, e.g. a Dask cluster).

    Returns:
        ``winner`` (family), ``params``, ``calibration``, ``why`` and every candidate's scores.
    """
    from sklearn.model_selection import StratifiedKFold, cross_validate

    todo = candidates(cfg.model)
    folds = cv_folds(y, cfg.cv_folds)
    if len(todo) == 1 or folds == 0:
        kind, params = todo[0] if len(todo) == 1 else ("logistic", {})
        why = (
            "configured"
            if len(todo) == 1
            else "too few rows of the smaller class to cross-validate; logistic regression is "
            "the safer choice on tiny data"
        )
        return {
            "winner": kind,
            "params": params,
            "calibration": calibration_for(X, y, schema, cfg, kind, params),
            "why": why,
            "scores": {},
        }
    if len(X) > CV_ROWS:
        rng = np.random.default_rng(cfg.seed)
        pick = np.sort(rng.choice(len(X), CV_ROWS, replace=False))
        X, y = X.iloc[pick], y[pick]
    started, skipped = time.perf_counter(), []
    scores: dict[str, dict[str, Any]] = {}
    splitter = StratifiedKFold(folds, shuffle=True, random_state=cfg.seed)
    for i, (kind, params) in enumerate(todo):
        if i >= 2 and time.perf_counter() - started > cfg.time_budget_seconds:
            skipped.append(label(kind, params))
            continue
        res = cross_validate(
            build(kind, schema, seed=cfg.seed, params=params),
            X,
            y,
            cv=splitter,
            scoring=("roc_auc", "average_precision", "neg_log_loss"),
            n_jobs=n_jobs,
        )
        scores[label(kind, params)] = {
            "kind": kind,
            "params": params,
            "roc_auc": float(np.mean(res["test_roc_auc"])),
            "roc_auc_std": float(np.std(res["test_roc_auc"])),
            "average_precision": float(np.mean(res["test_average_precision"])),
            "log_loss": float(-np.mean(res["test_neg_log_loss"])),
            "seconds": float(np.sum(res["fit_time"]) + np.sum(res["score_time"])),
        }
    metric = cfg.selection_metric
    ranked = sorted(scores, key=lambda k: -scores[k][metric])
    best = scores[ranked[0]]
    why = (
        f"highest cross-validated {metric} ({best[metric]:.4f}, {folds} folds, {len(X)} rows) "
        f"of {len(scores)} candidates"
    )
    if len(ranked) > 1:
        why += f"; next {ranked[1]} {scores[ranked[1]][metric]:.4f}"
    if skipped:
        why += f"; not tried within the {cfg.time_budget_seconds:g} s budget: {len(skipped)}"
    return {
        "winner": best["kind"],
        "params": best["params"],
        "calibration": calibration_for(X, y, schema, cfg, best["kind"], best["params"]),
        "why": why,
        "scores": scores,
        "folds": folds,
        "metric": metric,
    }


def plan_for(
    X: pd.DataFrame,
    y: np.ndarray,
    schema: DataSchema,
    cfg: TrainingSettings,
    n_jobs: int | None = None,
) -> tuple[Plan, dict[str, Any]]:
    """The plan :func:`choose` picks for these rows, and the selection record."""
    from riskwatch.model.training import Plan

    selection = choose(X, y, schema, cfg, n_jobs)
    plan = Plan(
        kind=selection["winner"],
        params=selection["params"],
        calibration=selection["calibration"]["method"],
        seed=cfg.seed,
    )
    return plan, selection


def calibration_for(
    X: pd.DataFrame,
    y: np.ndarray,
    schema: DataSchema,
    cfg: TrainingSettings,
    kind: str,
    params: dict[str, Any],
) -> dict[str, Any]:
    """The calibration method: as configured, or (``auto``) by cross-validated log loss."""
    if kind == "course":
        return {"method": "none", "why": "the course model is used as the course defined it"}
    if cfg.calibration != "auto":
        return {"method": cfg.calibration, "why": "configured"}
    positives = int(min(y.sum(), len(y) - y.sum()))
    if len(X) > SMALL_ROWS:
        return {
            "method": "none",
            "why": f"more than {SMALL_ROWS} rows: both families are fitted by log loss, so their "
            "probabilities are used as they are (a calibrator fitted on unweighted folds would "
            "undo the recency weights); the out-of-time window measures their calibration",
        }
    folds = cv_folds(y, min(cfg.cv_folds, 5))
    if folds < 2 or positives < 4 * folds:
        return {"method": "none", "why": "too few rows of the smaller class to calibrate"}
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    splitter = StratifiedKFold(folds, shuffle=True, random_state=cfg.seed)
    losses: dict[str, float] = {}
    methods = ["none", "sigmoid"] + (["isotonic"] if positives >= 500 else [])
    for method in methods:
        model: Any = build(kind, schema, seed=cfg.seed, params=params)
        if method != "none":
            inner = cv_folds(y, 3) or 2
            model.steps[-1] = (
                "model",
                CalibratedClassifierCV(model.steps[-1][1], method=method, cv=inner, ensemble=False),
            )
        losses[method] = float(
            -np.mean(cross_val_score(model, X, y, cv=splitter, scoring="neg_log_loss"))
        )
    best = min(losses, key=lambda m: losses[m])
    shown = ", ".join(f"{m} {v:.4f}" for m, v in losses.items())
    return {"method": best, "why": f"lowest cross-validated log loss ({shown})", "losses": losses}

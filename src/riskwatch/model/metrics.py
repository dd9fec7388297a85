"""Pure metrics of risk scores: the course's F1 and what a calling team actually uses.

Every metric that is undefined for the data (one class only, no positives in the top k) is
reported as ``None`` with the reason in ``undefined``, never as a crash or a fake 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

REPORTED = (
    "f1",
    "precision",
    "recall",
    "roc_auc",
    "pr_auc",
    "brier",
    "ece",
    "precision_at_k_fraction",
    "recall_at_k_fraction",
    "lift_at_k_fraction",
    "precision_at_k_count",
    "lift_at_k_count",
)  # the metrics reports and model cards show, in this order


MIN_ROWS = 30  # fewer labelled rows than this: figures carry an interval and a warning
MIN_POSITIVES = 5  # ... and likewise with fewer positives (or negatives)
INTERVAL_METRICS = ("f1", "roc_auc", "pr_auc", "precision", "recall")


def too_small(rows: int, positives: int) -> str | None:
    """A warning when labelled data is too small to judge a model, else None."""
    if rows < MIN_ROWS or min(positives, rows - positives) < MIN_POSITIVES:
        return (
            f"{rows} rows ({positives} positive): too few to judge "
            f"(at least {MIN_ROWS} rows and {MIN_POSITIVES} of each class)"
        )
    return None


def top_k(n: int, fraction: float, count: int) -> dict[str, int]:
    """The two call-list sizes: a share of the clients and a fixed number (both at least 1)."""
    return {"fraction": max(1, min(n, math.ceil(n * fraction))), "count": max(1, min(n, count))}


def compute_metrics(
    y_true: Any,
    scores: Any,
    *,
    threshold: float = 0.5,
    top_k_fraction: float = 0.1,
    top_k_count: int = 100,
    bins: int = 10,
    bootstrap: bool = True,
) -> dict[str, Any]:
    """All metrics of ``scores`` (P(positive)) against 0/1 labels.

    On fewer than ``MIN_ROWS`` rows or ``MIN_POSITIVES`` of a class, the answer also carries a
    ``warning`` and bootstrap ``intervals`` (unless ``bootstrap`` is off).

    Returns:
        A JSON-ready dict: rows, positives, f1, precision, recall, accuracy, roc_auc, pr_auc,
        brier, ece, confusion matrix, precision/recall/lift at both top-k sizes, and
        ``undefined`` (metric -> reason).
    """
    from sklearn import metrics as skm

    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(scores, dtype=np.float64)
    n, pos = len(y), int(y.sum())
    undefined: dict[str, str] = {}
    out: dict[str, Any] = {"rows": n, "positives": pos, "threshold": threshold}
    if n == 0:
        return {**out, "undefined": {"all": "no rows"}}
    pred = (p >= threshold).astype(np.int64)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    tn = n - tp - fp - fn
    out["confusion"] = {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
    out["accuracy"] = (tp + tn) / n
    out["precision"] = (
        tp / (tp + fp)
        if tp + fp
        else _undef(undefined, "precision", "no client predicted positive")
    )
    out["recall"] = (
        tp / (tp + fn) if tp + fn else _undef(undefined, "recall", "no positive label in the data")
    )
    # F1 as scikit-learn computes it (0 when there are positives but none is found)
    out["f1"] = (
        (2 * tp / (2 * tp + fp + fn))
        if (2 * tp + fp + fn)
        else _undef(undefined, "f1", "no positive labels and no positive predictions")
    )
    if 0 < pos < n:
        out["roc_auc"] = float(skm.roc_auc_score(y, p))
        out["pr_auc"] = float(skm.average_precision_score(y, p))
    else:
        reason = "only one class in the labels"
        out["roc_auc"] = _undef(undefined, "roc_auc", reason)
        out["pr_auc"] = _undef(undefined, "pr_auc", reason)
    out["brier"] = float(np.mean((p - y) ** 2))
    out["ece"] = expected_calibration_error(y, p, bins=bins)
    base = pos / n
    order = np.argsort(-p, kind="stable")
    for name, k in top_k(n, top_k_fraction, top_k_count).items():
        hits = int(y[order[:k]].sum())
        out[f"k_{name}"] = k
        out[f"precision_at_k_{name}"] = hits / k
        out[f"recall_at_k_{name}"] = (
            hits / pos if pos else _undef(undefined, f"recall_at_k_{name}", "no positive label")
        )
        out[f"lift_at_k_{name}"] = (
            (hits / k) / base
            if base
            else _undef(undefined, f"lift_at_k_{name}", "no positive label")
        )
    out["precision_at_k"] = out["precision_at_k_fraction"]
    out["undefined"] = undefined
    warning = too_small(n, pos)
    if warning and bootstrap:
        out["warning"] = warning
        out["intervals"] = _intervals(y, p, threshold, bins)
    return out


def _intervals(
    y: np.ndarray, p: np.ndarray, threshold: float, bins: int, resamples: int = 200
) -> dict[str, list[float] | None]:
    """95% bootstrap intervals of the headline metrics (small data only: it is cheap there)."""
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(y), (resamples, len(y)))
    out: dict[str, list[float] | None] = {}
    for name in INTERVAL_METRICS:
        v = resampled(name, y, p, idx, threshold=threshold)
        v = v[~np.isnan(v)]
        out[name] = (
            [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if len(v) >= 20 else None
        )
    return out


def _undef(store: dict[str, str], name: str, reason: str) -> Any:
    store[name] = reason
    return None


def expected_calibration_error(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> float:
    """Weighted mean |observed rate - mean predicted| over equal-width probability bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.sum() * abs(float(y[mask].mean()) - float(p[mask].mean()))
    return total / len(y) if len(y) else float("nan")


def calibration_curve(y: Any, p: Any, *, bins: int = 10) -> dict[str, list[float]]:
    """Mean predicted vs observed rate per non-empty bin (for the calibration plot)."""
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    pred: list[float] = []
    obs: list[float] = []
    count: list[float] = []
    for b in range(bins):
        mask = idx == b
        if mask.any():
            pred.append(float(p[mask].mean()))
            obs.append(float(y[mask].mean()))
            count.append(float(mask.sum()))
    return {"predicted": pred, "observed": obs, "count": count}


VECTORISED = ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "brier")


def resampled(
    metric: str,
    y: np.ndarray,
    p: np.ndarray,
    idx: np.ndarray,
    *,
    threshold: float = 0.5,
) -> np.ndarray:
    """``metric`` on every bootstrap resample at once (rows of ``idx``); NaN where undefined.

    Only the metric being tested is computed, as matrix operations over the resamples: ROC AUC by
    ranks (ties count one half), PR AUC as average precision, the threshold metrics by counts.

    Raises:
        KeyError: a metric without a vectorised form (see ``VECTORISED``).
    """
    if metric not in VECTORISED:
        raise KeyError(metric)
    ys = np.asarray(y, dtype=np.float64)[idx]
    ps = np.asarray(p, dtype=np.float64)[idx]
    n = ys.shape[1]
    pos = ys.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "brier":
            return np.asarray(((ps - ys) ** 2).mean(axis=1))
        if metric in ("f1", "precision", "recall", "accuracy"):
            pred = ps >= threshold
            tp = (pred & (ys == 1)).sum(axis=1)
            fp = (pred & (ys == 0)).sum(axis=1)
            fn = pos - tp
            if metric == "precision":
                return np.where(tp + fp > 0, tp / (tp + fp), np.nan)
            if metric == "recall":
                return np.where(pos > 0, tp / pos, np.nan)
            if metric == "accuracy":
                return np.asarray((tp + (n - pos - fp)) / n)
            return np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
        order = np.argsort(ps, axis=1, kind="stable")
        sp = np.take_along_axis(ps, order, axis=1)
        sy = np.take_along_axis(ys, order, axis=1)
        neg = n - pos
        if metric == "roc_auc":
            ranks = _average_ranks(sp)
            auc = ((ranks * sy).sum(axis=1) - pos * (pos + 1) / 2) / (pos * neg)
            return np.where((pos > 0) & (neg > 0), auc, np.nan)
        # average precision: the precision at each positive, highest scores first, ties together
        sp, sy = sp[:, ::-1], sy[:, ::-1]
        hits = np.cumsum(sy, axis=1)
        last = np.concatenate([sp[:, 1:] != sp[:, :-1], np.ones((len(sp), 1), bool)], axis=1)
        counts = np.arange(1, n + 1)
        # within a tie block, precision is taken at the block's end (as scikit-learn does)
        block_hits = _fill_back(np.where(last, hits, np.nan))
        block_size = _fill_back(np.where(last, counts, np.nan))
        ap = (sy * block_hits / block_size).sum(axis=1) / pos
        return np.where((pos > 0) & (neg > 0), ap, np.nan)


def _average_ranks(sorted_scores: np.ndarray) -> np.ndarray:
    """1-based ranks of row-wise sorted scores, ties given their average rank."""
    n = sorted_scores.shape[1]
    ranks = np.broadcast_to(np.arange(1, n + 1, dtype=np.float64), sorted_scores.shape).copy()
    new = np.concatenate(
        [np.ones((len(sorted_scores), 1), bool), sorted_scores[:, 1:] != sorted_scores[:, :-1]],
        axis=1,
    )
    if new.all():
        return ranks
    start = _fill_forward(np.where(new, ranks, np.nan))
    end_mark = np.concatenate([new[:, 1:], np.ones((len(new), 1), bool)], axis=1)
    end = _fill_back(np.where(end_mark, ranks, np.nan))
    return np.asarray((start + end) / 2)


def _fill_forward(a: np.ndarray) -> np.ndarray:
    idx = np.where(~np.isnan(a), np.arange(a.shape[1]), 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    return np.take_along_axis(a, idx, axis=1)


def _fill_back(a: np.ndarray) -> np.ndarray:
    return _fill_forward(a[:, ::-1])[:, ::-1]

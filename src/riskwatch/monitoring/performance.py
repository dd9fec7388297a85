"""Performance drift with labels (the course's three tests) and the label-free estimate (CBPE).

With labels: the champion's metric on the batch vs its baseline: ``raw`` (below baseline minus a
tolerance), ``parametric`` (below mean - 2 std of the score history), ``nonparametric`` (below
Q1 - 1.5 IQR of the history). A bootstrap interval says how uncertain a small batch's score is.

Without labels (confidence-based performance estimation): if the probabilities are calibrated,
the expected precision in the top k is the mean probability of those k clients, and the expected
ROC AUC is P(score of a leaver > score of a stayer) with each client counted as a leaver with
weight p and as a stayer with weight 1 - p. It rests on one assumption: calibration still holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass
class PerformanceResult:
    """The performance test of one batch."""

    metric: str
    value: float | None
    baseline: float | None
    test: str
    limit: float | None
    drifted: bool
    rows: int
    interval: tuple[float, float] | None = None
    history: list[float] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def reason(self) -> str:
        if self.value is None:
            return f"{self.metric} undefined on the batch: {self.note}"
        ci = (
            f", 95% interval {self.interval[0]:.3f}-{self.interval[1]:.3f}" if self.interval else ""
        )
        cmp = "below" if self.drifted else "not below"
        if self.note:
            cmp = "not significantly below"
        if self.note:
            cmp = "not significantly below"
        return f"{self.metric} {self.value:.4f} on {self.rows} labelled rows is {cmp} the {self.test} limit {self.limit:.4f}{ci}"


def calibration_drift(
    y: np.ndarray, p: np.ndarray, tolerance: float, z_limit: float = 3.29
) -> dict[str, Any]:
    """Calibration-in-the-large: is the observed attrition rate far from the predicted one?

    Drift when the difference is significant (|z| > 3.29, p < 0.001) and larger than ``tolerance``
    relative to the predicted rate.
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    expected, observed = float(p.mean()), float(y.mean())
    sd = float(np.sqrt(np.sum(p * (1 - p)))) / len(p) if len(p) else 0.0
    z = (observed - expected) / sd if sd > 0 else 0.0
    relative = abs(observed - expected) / expected if expected > 0 else float("inf")
    drifted = bool(abs(z) > z_limit and relative > tolerance and len(p) >= 30)
    return {
        "predicted_rate": expected,
        "observed_rate": observed,
        "z": z,
        "relative_gap": relative,
        "tolerance": tolerance,
        "drifted": drifted,
    }


class PerformanceDriftCalculator:
    """fit(baseline, history) -> calculate(y, scores) -> PerformanceResult."""

    def __init__(
        self,
        metric: str,
        test: str = "raw",
        tolerance: float = 0.0,
        *,
        significance: bool = True,
        threshold: float = 0.5,
        top_k_fraction: float = 0.1,
        top_k_count: int = 100,
        bootstrap: int = 200,
        seed: int = 0,
    ) -> None:
        self.metric, self.test, self.tolerance = metric, test, tolerance
        self.kw: dict[str, Any] = {
            "threshold": threshold,
            "top_k_fraction": top_k_fraction,
            "top_k_count": top_k_count,
        }
        self.bootstrap, self.seed, self.significance = bootstrap, seed, significance
        self.baseline: float | None = None
        self.history: list[float] = []

    def fit(
        self, baseline: float | None, history: list[float] | None = None
    ) -> PerformanceDriftCalculator:
        self.baseline = baseline
        self.history = [h for h in (history or []) if h is not None]
        return self

    def limit(self) -> tuple[float | None, str]:
        """The value below which the score counts as drift, and the test actually used."""
        h = np.asarray(self.history, dtype=float)
        if self.test == "parametric" and len(h) >= 2:
            return float(h.mean() - 2 * h.std(ddof=1)), "parametric"
        if self.test == "nonparametric" and len(h) >= 4:
            q1, q3 = np.percentile(h, [25, 75])
            return float(q1 - 1.5 * (q3 - q1)), "nonparametric"
        if self.baseline is None:
            return None, "raw"
        used = "raw" if self.test == "raw" else f"raw (too little history for {self.test})"
        return self.baseline - self.tolerance, used

    def calculate(self, y: np.ndarray, scores: np.ndarray) -> PerformanceResult:
        from riskwatch.model.metrics import compute_metrics

        y, scores = np.asarray(y, dtype=np.int64), np.asarray(scores, dtype=float)
        metrics = compute_metrics(y, scores, bootstrap=False, **self.kw)
        value = metrics.get(self.metric)
        limit, used = self.limit()
        if value is None or limit is None:
            note = (
                (metrics.get("undefined") or {}).get(self.metric, "no baseline")
                if value is None
                else "no baseline"
            )
            return PerformanceResult(
                self.metric,
                value,
                self.baseline,
                used,
                limit,
                False,
                len(y),
                note=note,
                history=self.history,
            )
        interval = self._interval(y, scores)
        drifted, note = bool(value < limit), ""
        if drifted and self.significance and interval is not None and interval[1] >= limit:
            drifted = False
            note = (
                "below the limit, but within the batch's sampling noise (95% interval reaches it)"
            )
        return PerformanceResult(
            self.metric,
            float(value),
            self.baseline,
            used,
            limit,
            drifted,
            len(y),
            interval=interval,
            history=self.history,
            note=note,
        )

    def _interval(self, y: np.ndarray, scores: np.ndarray) -> tuple[float, float] | None:
        """A 95% bootstrap interval of the tested metric: only that metric, computed for all
        resamples at once (in batches that bound the memory).

        Beyond ``BOOTSTRAP_ROWS`` rows the resamples are drawn from a seeded subsample of that
        many rows and the interval's half-widths are scaled by sqrt(subsample / rows) around the
        metric on all rows (a bootstrap's spread shrinks as 1/sqrt(n)): the cost stops growing
        with the batch, and a large batch keeps its narrow interval.
        """
        n = len(y)
        if n <= BOOTSTRAP_ROWS:
            return self._bootstrap(y, scores)
        rng = np.random.default_rng(self.seed)
        pick = np.sort(rng.choice(n, BOOTSTRAP_ROWS, replace=False))
        sub = self._bootstrap(y[pick], scores[pick])
        center, center_sub = self._value(y, scores), self._value(y[pick], scores[pick])
        if sub is None or center is None or center_sub is None:
            return None
        shrink = float(np.sqrt(BOOTSTRAP_ROWS / n))
        return (
            center - (center_sub - sub[0]) * shrink,
            center + (sub[1] - center_sub) * shrink,
        )

    def _value(self, y: np.ndarray, scores: np.ndarray) -> float | None:
        from riskwatch.model.metrics import compute_metrics

        value = compute_metrics(y, scores, bootstrap=False, **self.kw).get(self.metric)
        return None if value is None or np.isnan(value) else float(value)

    def _bootstrap(self, y: np.ndarray, scores: np.ndarray) -> tuple[float, float] | None:
        from riskwatch.model.metrics import VECTORISED, compute_metrics, resampled

        rng = np.random.default_rng(self.seed)
        n, total = len(y), self.bootstrap
        values: list[float] = []
        if self.metric in VECTORISED:
            batch = max(1, min(total, 4_000_000 // max(n, 1)))
            for start in range(0, total, batch):
                idx = rng.integers(0, n, (min(batch, total - start), n))
                got = resampled(self.metric, y, scores, idx, threshold=self.kw["threshold"])
                values += [float(v) for v in got if not np.isnan(v)]
        else:  # top-k metrics and the like: one resample at a time
            for _ in range(total if n <= 5000 else 50):
                idx = rng.integers(0, n, n)
                v = compute_metrics(y[idx], scores[idx], bootstrap=False, **self.kw).get(
                    self.metric
                )
                if v is not None:
                    values.append(v)
        if len(values) < 10:
            return None
        lo, hi = np.percentile(values, [2.5, 97.5])
        return float(lo), float(hi)


BOOTSTRAP_ROWS = 100_000  # beyond this, the interval comes from a subsample (see _interval)


def estimate_performance(
    scores: np.ndarray, *, top_k_fraction: float = 0.1, top_k_count: int = 100
) -> dict[str, Any]:
    """Label-free estimates from calibrated probabilities (CBPE)."""
    from riskwatch.model.metrics import top_k

    p = np.asarray(scores, dtype=float)
    n = len(p)
    if n == 0:
        return {"rows": 0}
    order = np.argsort(-p, kind="stable")
    ks = top_k(n, top_k_fraction, top_k_count)
    out: dict[str, Any] = {
        "rows": n,
        "assumption": "the model's probabilities are still calibrated",
        "expected_positive_rate": float(p.mean()),
    }
    for name, k in ks.items():
        out[f"precision_at_k_{name}"] = float(p[order[:k]].mean())
    out["roc_auc"] = expected_auc(p)
    return out


def expected_auc(p: np.ndarray) -> float | None:
    """Expected ROC AUC if each client leaves with probability p (ties count one half)."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    s, w_pos, w_neg = p[order], p[order], 1 - p[order]
    # for each client (as a leaver), the weight of stayers with a strictly lower score, plus half the ties
    uniq, start = np.unique(s, return_index=True)
    neg_cum = np.concatenate([[0.0], np.cumsum(w_neg)])
    group = np.searchsorted(uniq, s)
    ends = np.append(start[1:], len(s))
    below = neg_cum[start[group]]
    ties = neg_cum[ends[group]] - neg_cum[start[group]] - w_neg  # exclude itself
    num = float(np.sum(w_pos * (below + 0.5 * ties)))
    den = float(w_pos.sum() * w_neg.sum() - np.sum(w_pos * w_neg))
    return num / den if den > 0 else None


def compare_estimate(estimate: dict[str, Any], realised: dict[str, Any]) -> dict[str, Any]:
    """Estimated vs realised values, once the labels have arrived."""
    out = {}
    for key in ("precision_at_k_fraction", "precision_at_k_count", "roc_auc"):
        e, r = estimate.get(key), realised.get(key)
        if isinstance(e, float) and isinstance(r, int | float):
            out[key] = {"estimated": e, "realised": float(r), "error": float(e - r)}
    return out

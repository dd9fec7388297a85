"""Pure group metrics for sensitive attributes, in the manner of Fairlearn's MetricFrame.

For each group of a protected attribute: how many clients, the selection rate (share flagged at
risk), recall (share of leavers flagged) and precision (share of flagged who left); then, per
metric, the ratio of the lowest group to the highest (1.0 = parity; the "four-fifths rule" reads
a selection-rate ratio under 0.8 as a warning sign).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

SENSITIVE_NAME = re.compile(
    r"gender|^sex$|_sex$|^age$|_age$|race|ethnic|religio|marital|nationality|citizenship", re.I
)
MIN_GROUP = 20  # smaller groups are listed but left out of the ratios


def looks_sensitive(columns: list[str] | tuple[str, ...]) -> list[str]:
    """Columns whose name suggests a protected attribute."""
    return [c for c in columns if SENSITIVE_NAME.search(str(c))]


def group_metrics(
    y: np.ndarray, p: np.ndarray, groups: Any, threshold: float, *, max_groups: int = 20
) -> dict[str, Any]:
    """Per-group selection rate, recall and precision at ``threshold``, and their ratios."""
    y = np.asarray(y, dtype=np.int64)
    flagged = np.asarray(p, dtype=np.float64) >= threshold
    values = _labels(groups)
    names, counts = np.unique(values, return_counts=True)
    order = np.argsort(-counts)[:max_groups]
    rows: list[dict[str, Any]] = []
    for i in order:
        hit = values == names[i]
        pos, sel = int(y[hit].sum()), int(flagged[hit].sum())
        rows.append(
            {
                "group": str(names[i]),
                "rows": int(hit.sum()),
                "selection_rate": float(flagged[hit].mean()),
                "recall": float((flagged[hit] & (y[hit] == 1)).sum() / pos) if pos else None,
                "precision": float((flagged[hit] & (y[hit] == 1)).sum() / sel) if sel else None,
            }
        )
    ratios: dict[str, float | None] = {}
    for metric in ("selection_rate", "recall", "precision"):
        vals = [float(r[metric]) for r in rows if r["rows"] >= MIN_GROUP and r[metric] is not None]
        ratios[metric] = min(vals) / max(vals) if len(vals) >= 2 and max(vals) > 0 else None
    return {"groups": rows, "ratios": ratios, "threshold": threshold}


def _labels(groups: Any) -> np.ndarray:
    """Group labels: text as it is; numbers with many values in quartile bands (e.g. ages)."""
    import pandas as pd

    series = pd.Series(groups).reset_index(drop=True)
    numbers = pd.to_numeric(series, errors="coerce")
    if numbers.notna().mean() > 0.95 and numbers.nunique() > 10:
        bands = pd.qcut(numbers, 4, duplicates="drop")
        text = bands.astype(str).where(bands.notna(), "(missing)")
        return np.asarray(text, dtype=str)
    text = series.astype("string").fillna("(missing)")
    return np.asarray(text, dtype=str)

"""Does the newest data look like what the champion learned from? Distributions of the features
that drifted (reference vs current), missing data, and what ingestion quarantined.

The reference is the training rows of the model the drift check used (normally the champion,
:func:`riskwatch.registry.evalsets.training_rows`); the current rows are the batch that check
measured. Distributions are binned here, so the answer is small and JSON-ready. Reads only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.context import RunContext

BINS = 20
TOP_CATEGORIES = 12
BATCH = re.compile(r"v(\d+)\.\.v(\d+)")


def drifted_distributions(ctx: RunContext, limit: int = 8) -> dict[str, Any]:
    """Reference vs current distribution of each feature the newest drift check flagged."""
    from riskwatch.storage.records import drift_check_result

    check = drift_check_result(ctx.db)
    if check is None:
        return {"check": None, "features": [], "note": "no drift check yet"}
    columns = [c for c in (check.get("data") or {}).get("columns", []) if c.get("drifted")]
    columns.sort(key=lambda c: -(c.get("statistic") or 0) / (c.get("threshold") or 1))
    head = {
        "check": check.get("batch"),
        "model_version": check.get("model_version"),
        "verdict": check.get("verdict"),
    }
    if not columns:
        return {**head, "features": [], "note": "no feature drifted in the newest check"}
    reference, current = _frames(ctx, check)
    if reference is None or current is None:
        return {**head, "features": [], "note": "the checked rows are no longer stored"}
    features = []
    for col in columns[:limit]:
        name = col["column"]
        if name not in reference.columns or name not in current.columns:
            continue
        ref, cur = reference[name], current[name]
        numeric = col.get("kind") == "numeric"
        features.append(
            {
                "column": name,
                "kind": col.get("kind"),
                "test": col.get("test"),
                "statistic": col.get("statistic"),
                "threshold": col.get("threshold"),
                "psi": col.get("psi"),
                **(numeric_bins(ref, cur) if numeric else category_shares(ref, cur)),
            }
        )
    return {
        **head,
        "reference_rows": len(reference),
        "current_rows": len(current),
        "features": features,
        "more": max(0, len(columns) - limit),
    }


def numeric_bins(ref: pd.Series, cur: pd.Series) -> dict[str, Any]:
    """Shares of both samples in common bins (1st-99th percentile, ends open), means, missing."""
    import numpy as np

    r = ref.astype("float64").to_numpy()
    c = cur.astype("float64").to_numpy()
    both = np.concatenate([r[np.isfinite(r)], c[np.isfinite(c)]])
    if both.size == 0:
        return {"edges": [], "reference": [], "current": [], **_missing(r, c)}
    lo, hi = np.percentile(both, [1, 99])
    if hi <= lo:
        lo, hi = float(both.min()) - 0.5, float(both.max()) + 0.5
    edges = np.linspace(lo, hi, BINS + 1)

    def shares(x: np.ndarray) -> list[float]:
        x = np.clip(x[np.isfinite(x)], lo, hi)
        counts = np.histogram(x, bins=edges)[0]
        return (counts / max(1, x.size)).round(6).tolist()

    return {
        "edges": edges.round(6).tolist(),
        "reference": shares(r),
        "current": shares(c),
        "reference_mean": float(np.nanmean(r)) if np.isfinite(r).any() else None,
        "current_mean": float(np.nanmean(c)) if np.isfinite(c).any() else None,
        **_missing(r, c),
    }


def category_shares(ref: pd.Series, cur: pd.Series) -> dict[str, Any]:
    """Share of each category in both samples (the most frequent ones, the rest as 'other')."""
    r = ref.dropna().astype("string").value_counts(normalize=True)
    c = cur.dropna().astype("string").value_counts(normalize=True)
    order = (r.add(c, fill_value=0)).sort_values(ascending=False).index.tolist()
    shown = order[:TOP_CATEGORIES]
    if _numeric_like(shown):
        shown = sorted(shown, key=float)
    categories = [_category(k) for k in shown]
    r_shares = [round(float(r.get(k, 0.0)), 6) for k in shown]
    c_shares = [round(float(c.get(k, 0.0)), 6) for k in shown]
    if len(order) > TOP_CATEGORIES:
        categories.append("other")
        r_shares.append(round(max(0.0, 1 - sum(r_shares)), 6))
        c_shares.append(round(max(0.0, 1 - sum(c_shares)), 6))
    r_na, c_na = ref.isna().to_numpy(), cur.isna().to_numpy()
    return {
        "categories": categories,
        "reference": r_shares,
        "current": c_shares,
        **_missing_shares(r_na, c_na),
    }


def quarantine(ctx: RunContext, limit: int = 12) -> list[dict[str, Any]]:
    """The latest ingestion records: rows read, accepted, quarantined, duplicate; status."""
    from riskwatch.storage.ingestions import recent_ingestions

    keys = ("source", "unit", "rows_read", "rows_accepted", "rows_quarantined", "rows_duplicate")
    return [
        {**{k: r[k] for k in keys}, "status": r["status"], "at": r["finished_at"]}
        for r in recent_ingestions(ctx.db, limit)
    ]


def _frames(ctx: RunContext, check: dict[str, Any]) -> tuple[Any, Any]:
    """The reference (training rows of the checked model) and the checked batch."""
    from riskwatch.errors import RiskwatchError
    from riskwatch.registry.evalsets import training_rows
    from riskwatch.storage.datasets import get_version

    found = BATCH.search(str(check.get("batch", "")))
    version = check.get("model_version")
    if found is None or version is None:
        return None, None
    before, after = int(found.group(1)), int(found.group(2))
    try:
        reference = training_rows(ctx, int(version))
        rows = ctx.rows()
        known = {p.name for p in get_version(ctx.db, before).parts} if before else set()
        parts = tuple(p for p in get_version(ctx.db, after).parts if p.name not in known)
        current = rows.view(parts).frame
    except (RiskwatchError, OSError):
        return None, None
    return reference, current


def _category(value: str) -> str:
    """``4.0`` -> ``4`` for a whole-number category; other names as they are."""
    try:
        number = float(value)
    except ValueError:
        return str(value)
    return str(int(number)) if number.is_integer() else str(value)


def _numeric_like(values: list[str]) -> bool:
    try:
        [float(v) for v in values]
    except ValueError:
        return False
    return True


def _missing(r: Any, c: Any) -> dict[str, float]:
    import numpy as np

    return _missing_shares(np.isnan(r), np.isnan(c))


def _missing_shares(r: Any, c: Any) -> dict[str, float]:
    return {
        "reference_missing": float(r.mean()) if len(r) else 0.0,
        "current_missing": float(c.mean()) if len(c) else 0.0,
    }

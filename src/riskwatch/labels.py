"""Human labels for internal names (metrics, fields, tests, verdicts) and number formats.

Shared by the report and the dashboard, so a metric carries one name wherever people read it.
Light: no heavy imports.
"""

from __future__ import annotations

from typing import Any

LABELS: dict[str, str] = {
    # rank metrics
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC (average precision)",
    "brier": "Brier score (lower is better)",
    "ece": "Calibration error, ECE (lower is better)",
    "precision_at_k": "Precision in the top k",
    "precision_at_k_fraction": "Precision in the top share",
    "recall_at_k_fraction": "Recall in the top share",
    "lift_at_k_fraction": "Lift in the top share",
    "precision_at_k_count": "Precision in the top calls",
    "recall_at_k_count": "Recall in the top calls",
    "lift_at_k_count": "Lift in the top calls",
    "k_fraction": "Clients in the top share",
    "k_count": "Clients in the top calls",
    # metrics at the threshold
    "threshold": "Decision threshold",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1 score",
    "accuracy": "Accuracy",
    "rows": "Clients evaluated",
    "positives": "Clients who left",
    # drift tests
    "ks": "Kolmogorov-Smirnov test",
    "chi2": "chi-squared test",
    "z_test": "z-test of proportions",
    "wasserstein_norm": "Wasserstein distance (normalised)",
    "jensen_shannon": "Jensen-Shannon distance",
    "psi": "PSI",
    # verdicts
    "drift": "drift",
    "no_drift": "no drift",
    "insufficient_data": "insufficient data",
    "no_model": "no model",
    "ok": "OK",
    "attention": "Attention",
    "failing": "Failing",
    "promoted": "promoted",
    "rejected": "kept the champion",
    # ingestion
    "rows_read": "Rows read",
    "rows_accepted": "Accepted",
    "rows_quarantined": "Quarantined",
    "rows_duplicate": "Duplicates",
}
RANK_METRICS = (
    "roc_auc",
    "pr_auc",
    "precision_at_k_count",
    "lift_at_k_count",
    "precision_at_k_fraction",
    "lift_at_k_fraction",
    "brier",
    "ece",
)
THRESHOLD_METRICS = ("precision", "recall", "f1", "accuracy")


def label(name: str) -> str:
    """The human label of an internal name; unknown names lose their underscores.

    >>> label("roc_auc"), label("support_tickets")
    ('ROC AUC', 'Support tickets')
    """
    if name in LABELS:
        return LABELS[name]
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def metric_label(name: str, metrics: dict[str, Any]) -> str:
    """A metric's label with its k filled in (``Precision in the top 100 calls``)."""
    if name.endswith("_at_k_count") and metrics.get("k_count"):
        return label(name).replace("top calls", f"top {metrics['k_count']} calls")
    if name.endswith("_at_k_fraction") and metrics.get("k_fraction"):
        return label(name).replace("top share", f"top {metrics['k_fraction']} clients")
    return label(name)


def num(value: Any, digits: int = 3) -> str:
    """A number for people: ``undefined`` for None, thousands separators for large values."""
    if value is None or (isinstance(value, float) and value != value):
        return "undefined"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    return str(value)


def pct(value: Any, digits: int = 1) -> str:
    """A share as a percentage (``undefined`` for None)."""
    if value is None or (isinstance(value, float) and value != value):
        return "undefined"
    return f"{float(value) * 100:.{digits}f}%"


def money(value: Any) -> str:
    """A value at risk, rounded to whole units (empty for None)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return f"{float(value):,.0f}"


def data_value(value: Any) -> str:
    """A value from the data: whole numbers without decimals, others to 4 significant digits."""
    if value is None or (isinstance(value, float) and value != value):
        return "missing"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def factor_text(factor: dict[str, Any]) -> str:
    """One reason for a client's risk: ``Support tickets = 7``."""
    return f"{label(str(factor.get('feature')))} = {data_value(factor.get('value'))}"

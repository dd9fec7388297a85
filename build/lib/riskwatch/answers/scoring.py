"""How good is the champion? Its stored metrics on its own evaluation set, named beside them.

The one answer to this question: ``status``, ``GET /scoring``, the dashboard and the report all
show these figures, so one model shows the same figures on the same named set everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskwatch.context import RunContext

HEADLINE = ("f1", "roc_auc", "pr_auc", "precision_at_k", "brier", "ece")


def model_metrics(ctx: RunContext, version: int) -> dict[str, Any] | None:
    """A model's newest metrics on its own evaluation set (``eval_set`` names it)."""
    from riskwatch.storage.models import latest_metrics

    return latest_metrics(ctx.db, version)


def scoring(ctx: RunContext) -> dict[str, Any]:
    """The champion's metrics on its evaluation set (F1 and the rest), or a note."""
    version = ctx.champion_version()
    if version is None:
        return {"model_version": None, "eval_set": None, "metrics": None, "note": "no champion yet"}
    metrics = model_metrics(ctx, version)
    return {
        "model_version": version,
        "primary_metric": ctx.settings.scoring.primary_metric,
        "eval_set": (metrics or {}).get("eval_set"),
        "metrics": metrics,
    }

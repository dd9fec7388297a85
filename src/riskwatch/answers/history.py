"""How did performance and drift move over time, on figures that can be compared?

Two kinds of comparable figures: the champion's metric on each new labelled batch, as every drift
check measured it (same metric, fresh data each time, the model that was champion then), and
models scored on the same evaluation set (the gate scores the champion on the candidate's set).
A model's headline figures on its own evaluation set are not put on one axis. Reads only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskwatch.context import RunContext

KEPT = ("roc_auc", "pr_auc", "f1", "precision_at_k_count", "brier", "rows")


def history(ctx: RunContext, limit: int = 24) -> dict[str, Any]:
    """Drift checks oldest first (performance, drift share, score shift, call list overlap),
    models compared on shared evaluation sets, and the latest gate decisions."""
    from riskwatch.storage.models import deployments, metrics_by_eval_set
    from riskwatch.storage.records import drift_check_result, drift_checks

    checks = []
    for summary in reversed(drift_checks(ctx.db, limit)):
        result = drift_check_result(ctx.db, summary["id"]) or {}
        data = result.get("data") or {}
        perf = result.get("performance") or {}
        pred = result.get("prediction") or {}
        checks.append(
            {
                "id": summary["id"],
                "batch": summary["batch"],
                "checked_at": summary["checked_at"],
                "model_version": summary["model_version"],
                "verdict": summary["verdict"],
                "metric": perf.get("metric"),
                "value": perf.get("value"),
                "interval": perf.get("interval"),
                "limit": perf.get("limit"),
                "rows": perf.get("rows"),
                "drift_share": data.get("share"),
                "share_threshold": data.get("share_threshold"),
                "drifted": data.get("drifted_columns") or [],
                "score_psi": pred.get("psi"),
                "top_k_overlap": pred.get("top_k_overlap"),
            }
        )
    shared = {
        eval_set: [
            {
                "version": e["version"],
                "computed_at": e["computed_at"],
                "metrics": {k: e["metrics"].get(k) for k in KEPT},
            }
            for e in entries
        ]
        for eval_set, entries in metrics_by_eval_set(ctx.db).items()
    }
    return {"checks": checks, "shared_sets": shared, "deployments": deployments(ctx.db, 10)}

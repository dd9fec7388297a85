"""What the report shows, gathered from the shared answers (so it cannot disagree with the API
and the dashboard), plus the champion's evaluation scores for the curves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskwatch.context import RunContext

TOP_CALLS = 10  # clients on page 1


def collect(ctx: RunContext) -> dict[str, Any]:
    """Every answer the report shows, plus ``eval`` (labels and scores) and ``snapshot`` (the
    API answers written as ``apireturns.json``)."""
    from riskwatch.answers import changes, data, drift, health, history, models, risk, stats
    from riskwatch.answers.snapshot import snapshot
    from riskwatch.storage.reports import previous_report

    answers = snapshot(ctx)
    verdict = health.current(ctx)
    out: dict[str, Any] = {
        "snapshot": answers,
        "health": verdict,
        "changes": changes.changes(
            ctx, answers, previous_report(ctx.ws), health_now=verdict["health"]
        ),
        "scoring": answers["scoring"],
        "models": models.models(ctx),
        "drift": drift.drift(ctx, 5),
        "summary": stats.summarystats(ctx),
        "diagnostics": answers["diagnostics"],
        "risk": risk.risk(ctx, TOP_CALLS),
        "distributions": data.drifted_distributions(ctx),
        "ingestions": data.quarantine(ctx),
        "history": history.history(ctx),
        "card": None,
        "eval": None,
    }
    champion = ctx.champion()
    if champion is not None:
        out["card"] = champion.card
        out["eval"] = evaluation(ctx, champion.version)
    return out


def evaluation(ctx: RunContext, version: int) -> dict[str, Any]:
    """Labels and scores of model ``version`` on rows it never trained on, for the curves.

    Normally its evaluation set. A model refit on all rows (its evaluation set included) is
    drawn on the labelled rows that arrived after its training data instead, and on nothing
    when there are none yet: in-sample curves would contradict its out-of-sample figures.
    """
    from riskwatch.model.metrics import calibration_curve
    from riskwatch.registry.evalsets import evaluation_rows

    model = ctx.model(version)
    card = model.card or {}
    target = model.schema.target_column
    if card.get("refit_on_all_rows"):
        trained_on = int(card.get("dataset_version") or 0)
        current = ctx.version.version if ctx.version else trained_on
        frame = ctx.new_rows(trained_on).frame if current > trained_on else None
        frame = None if frame is None else frame.loc[frame[target].notna()]
        name = f"labelled rows of dataset v{trained_on}..v{current}, unseen in training"
        if frame is None or not len(frame) or frame[target].nunique() < 2:
            return {
                "note": f"Curves are not drawn: v{version} was refit on all rows, its evaluation "
                "set included, and no newer labelled rows with both outcomes exist yet."
            }
    else:
        frame, name = evaluation_rows(ctx, version), str(card.get("eval_set"))
        if not len(frame):
            return {"note": "Curves are not drawn: the evaluation set has no rows."}
    y = frame[target].astype("int64").to_numpy()
    p = model.risk(frame)
    return {
        "y": y,
        "p": p,
        "calibration": calibration_curve(y, p),
        "threshold": model.threshold,
        "set": f"{name} ({len(y):,} clients)",
    }


def summary(data: dict[str, Any]) -> dict[str, Any]:
    """``summary.json``: page 1 in machine form (the next report compares with it)."""
    risk = data["risk"]
    return {
        "health": data["health"]["health"],
        "reasons": [r["message"] for r in data["health"]["reasons"]],
        "changes": data["changes"],
        "model_version": data["scoring"].get("model_version"),
        "dataset_version": risk.get("dataset_version"),
        "top": [
            {k: c.get(k) for k in ("rank", "id", "risk", "value_at_risk")}
            for c in risk.get("clients", [])
        ],
    }

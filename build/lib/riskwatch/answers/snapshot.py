"""Every answer at once (the course's ``apireturns``), as the API would give them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskwatch.context import RunContext


def snapshot(ctx: RunContext) -> dict[str, Any]:
    """The answers of ``/scoring``, ``/summarystats``, ``/diagnostics``, ``/models``, ``/drift``
    and ``/risk`` in one document."""
    from riskwatch.answers import drift, models, risk, scoring, stats

    return {
        "scoring": scoring.scoring(ctx),
        "summarystats": stats.summarystats(ctx),
        "diagnostics": stats.diagnostics(ctx),
        "models": models.models(ctx),
        "drift": drift.drift(ctx, 3),
        "risk": risk.risk(ctx, ctx.settings.scoring.top_k_count),
    }

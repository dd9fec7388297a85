"""Read-only answers from stored results: scores, statistics, diagnostics, call list, models, drift.

Nothing here retrains, rescores a dataset or writes a file; ``/risk`` is computed once per
(champion, dataset) version and cached.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from riskwatch import views

router = APIRouter(tags=["results"])


@router.get("/scoring")
def scoring(request: Request) -> dict[str, Any]:
    """The champion's latest stored metrics (F1, ROC AUC, PR AUC, calibration, top-k...)."""
    state = request.app.state.rw
    return views.scoring(state.settings, state.db())


@router.get("/summarystats")
def summarystats(request: Request) -> dict[str, Any]:
    """Summary statistics and missing data of the current dataset (stored by the last run)."""
    return views.summarystats(request.app.state.rw.db())


@router.get("/diagnostics")
def diagnostics(request: Request) -> dict[str, Any]:
    """Step timings, dependency status and the last run (stored; instant)."""
    return views.diagnostics(request.app.state.rw.db())


@router.get("/risk")
def risk(
    request: Request,
    top: Annotated[int, Query(ge=1, le=10_000, description="How many clients.")] = 20,
) -> dict[str, Any]:
    """The ranked call list of current clients: id, risk, value at risk, main factors."""
    state = request.app.state.rw
    return views.risk(state.settings, state.ws, state.db(), top)


@router.get("/models")
def models(request: Request) -> dict[str, Any]:
    """Model versions, aliases, key metrics and alias history."""
    return views.models(request.app.state.rw.db())


@router.get("/drift")
def drift(request: Request, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """The latest drift checks and the newest one's per-feature results."""
    return views.drift(request.app.state.rw.db(), limit)

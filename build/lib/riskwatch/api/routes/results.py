"""Read-only answers: scores, statistics, diagnostics, call list, models, drift.

Each route returns the shared answer (:mod:`riskwatch.answers`) that the CLI, the dashboard and the
report show too. Nothing here retrains, rescores a dataset or writes a file.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from riskwatch.answers import drift as drift_answer
from riskwatch.answers import models as models_answer
from riskwatch.answers import risk as risk_answer
from riskwatch.answers import scoring as scoring_answer
from riskwatch.answers import stats
from riskwatch.api import schemas
from riskwatch.api.deps import State

router = APIRouter(tags=["results"])


@router.get("/scoring", response_model=schemas.Scoring)
def scoring(state: State) -> dict[str, Any]:
    """The champion's metrics on its own evaluation set (F1, ROC AUC, PR AUC, top-k...)."""
    return scoring_answer.scoring(state)


@router.get("/summarystats", response_model=schemas.SummaryStats)
def summarystats(state: State) -> dict[str, Any]:
    """Summary statistics and missing data of the current dataset (stored by the last run)."""
    return stats.summarystats(state)


@router.get("/diagnostics", response_model=schemas.Diagnostics)
def diagnostics(state: State) -> dict[str, Any]:
    """Step timings, dependency status and the last run (stored; instant)."""
    return stats.diagnostics(state)


@router.get("/risk", response_model=schemas.Risk)
def risk(
    state: State,
    top: Annotated[int, Query(ge=1, le=10_000, description="How many clients.")] = 20,
) -> dict[str, Any]:
    """The ranked call list of current clients: id, risk, value at risk, main factors."""
    return risk_answer.risk(state, top)


@router.get("/models", response_model=schemas.Models)
def models(state: State) -> dict[str, Any]:
    """Model versions, aliases, key metrics and alias history."""
    return models_answer.models(state)


@router.get("/drift", response_model=schemas.Drift)
def drift(state: State, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """The latest drift checks and the newest one's per-feature results."""
    return drift_answer.drift(state, limit)

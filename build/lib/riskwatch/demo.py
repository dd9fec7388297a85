"""A synthetic population of corporate clients, arriving as monthly snapshots.

Attrition depends on the features in a non-trivial, partly nonlinear way (declining
usage, a U-shaped tenure effect, an industry x contract-value interaction, support
tickets that only hurt past a threshold) plus noise. From ``drift_month`` on, both the
feature distribution (activity falls, tickets rise) and the relationship change
(a new competitor wins over small, low-tenure clients regardless of usage).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

INDUSTRIES = ("manufacturing", "retail", "finance", "health", "software", "logistics")
REGIONS = ("north", "south", "east", "west")
DEMO_COLUMNS = (
    "corporation",
    "snapshot_date",
    "industry",
    "region",
    "lastmonth_activity",
    "lastyear_activity",
    "number_of_employees",
    "contract_value",
    "tenure_years",
    "support_tickets",
    "exited",
)


@dataclass(frozen=True)
class DemoSpec:
    """How to generate the population."""

    clients: int = 10_000
    months: int = 12
    drift_month: int | None = None
    seed: int = 0
    start: str = "2026-01-01"


def generate(spec: DemoSpec) -> pd.DataFrame:
    """All monthly snapshots (``months`` x ``clients`` rows), deterministic for a seed."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(spec.seed)
    pop = _new_clients(rng, spec.clients, first_id=0)
    next_id = spec.clients
    frames = []
    dates = pd.date_range(spec.start, periods=spec.months, freq="MS")
    for month, stamp in enumerate(dates, start=1):
        drifted = spec.drift_month is not None and month >= spec.drift_month
        _evolve(rng, pop, drifted)
        prob = attrition_probability(pop, drifted=drifted)
        exited = rng.random(len(prob)) < prob
        snap = pd.DataFrame(
            {
                "corporation": [f"C{int(i):06d}" for i in pop["id"]],
                "snapshot_date": stamp.strftime("%Y-%m-%d"),
                "industry": np.asarray(INDUSTRIES)[pop["industry"]],
                "region": np.asarray(REGIONS)[pop["region"]],
                "lastmonth_activity": pop["lastmonth"].round().astype(int),
                "lastyear_activity": pop["lastyear"].round().astype(int),
                "number_of_employees": pop["employees"],
                "contract_value": pop["value"].round(2),
                "tenure_years": pop["tenure"].round(1),
                "support_tickets": pop["tickets"],
                "exited": exited.astype(int),
            }
        )
        frames.append(snap)
        # clients who left are replaced by new ones next month
        gone = np.flatnonzero(exited)
        fresh = _new_clients(rng, len(gone), first_id=next_id)
        next_id += len(gone)
        for key in pop:
            pop[key][gone] = fresh[key]
    return pd.concat(frames, ignore_index=True)


def attrition_probability(pop: dict[str, np.ndarray], *, drifted: bool) -> np.ndarray:
    """The true probability of leaving, given the features (the ground truth the model learns)."""
    import numpy as np

    yearly_rate = pop["lastyear"] / 12.0 + 1.0
    trend = np.log((pop["lastmonth"] + 1.0) / yearly_rate)  # < 0: usage declining
    tenure = pop["tenure"]
    logit: np.ndarray = np.full(len(tenure), -2.3)
    logit = logit - 1.1 * np.clip(trend, -3, 1.5)
    logit = logit + 0.5 * ((tenure - 6.0) / 4.0) ** 2 - 0.4  # new and very old clients churn
    logit = logit + 0.45 * np.maximum(pop["tickets"] - 3, 0)  # tickets hurt past 3
    retail_cheap = (pop["industry"] == 1) & (pop["value"] < 20_000)
    logit = logit + 0.9 * retail_cheap
    logit = logit - 0.25 * np.log1p(pop["employees"]) + 0.6
    if drifted:
        small_new = (pop["employees"] < 50) & (tenure < 4)
        logit = logit + 2.2 * small_new - 0.6 * np.clip(trend, -3, 1.5)
    return 1.0 / (1.0 + np.exp(-logit))


def _new_clients(rng: np.random.Generator, n: int, *, first_id: int) -> dict[str, np.ndarray]:
    import numpy as np

    employees = np.maximum(1, rng.lognormal(3.6, 1.3, n)).astype(int)
    lastyear = rng.gamma(2.0, 400.0, n) * (1 + np.log1p(employees) / 4)
    return {
        "id": np.arange(first_id, first_id + n),
        "industry": rng.choice(len(INDUSTRIES), n, p=[0.22, 0.2, 0.15, 0.13, 0.18, 0.12]),
        "region": rng.integers(0, len(REGIONS), n),
        "employees": employees,
        "lastyear": lastyear,
        "lastmonth": lastyear / 12 * rng.lognormal(0, 0.6, n),
        "value": np.round(rng.lognormal(10.2, 0.8, n) * (1 + np.log1p(employees) / 6), 2),
        "tenure": rng.gamma(2.0, 2.5, n),
        "tickets": rng.poisson(1.5, n),
    }


def _evolve(rng: np.random.Generator, pop: dict[str, np.ndarray], drifted: bool) -> None:
    import numpy as np

    n = len(pop["id"])
    monthly = pop["lastyear"] / 12.0
    shock = rng.lognormal(-0.35 if drifted else 0.0, 0.6, n)
    pop["lastmonth"] = monthly * shock
    pop["lastyear"] = pop["lastyear"] * 11 / 12 + pop["lastmonth"]
    pop["tenure"] = pop["tenure"] + 1 / 12
    pop["tickets"] = rng.poisson(2.6 if drifted else 1.5, n)
    grow = rng.random(n) < 0.02
    pop["employees"] = np.where(grow, (pop["employees"] * 1.1).astype(int) + 1, pop["employees"])


def month_batches(frame: pd.DataFrame) -> list[pd.DataFrame]:
    """Split generated snapshots into monthly batches, oldest first."""
    return [g.reset_index(drop=True) for _, g in frame.groupby("snapshot_date", sort=True)]

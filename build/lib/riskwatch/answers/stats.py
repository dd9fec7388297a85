"""What does the data look like, and how is the system doing? Stored diagnostics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskwatch.context import RunContext


def summarystats(ctx: RunContext) -> dict[str, Any]:
    """Stored summary statistics and missing data of the current dataset."""
    from riskwatch.storage.records import latest_diagnostics

    return {
        "summary": latest_diagnostics(ctx.db, "summary"),
        "missing": latest_diagnostics(ctx.db, "missing"),
    }


def diagnostics(ctx: RunContext) -> dict[str, Any]:
    """Stored timings and dependency status, and the last run."""
    from riskwatch.storage.records import latest_diagnostics
    from riskwatch.storage.runs import last_run

    return {
        "timings": latest_diagnostics(ctx.db, "timings"),
        "dependencies": latest_diagnostics(ctx.db, "dependencies"),
        "last_run": last_run(ctx.db),
    }

"""Has the business changed? The latest production drift checks and the newest one in full."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskwatch.context import RunContext


def drift(ctx: RunContext, limit: int = 10) -> dict[str, Any]:
    """The latest drift checks (verdict, reasons) and the newest one's per-feature results."""
    from riskwatch.storage.records import drift_check_result, drift_checks

    checks = drift_checks(ctx.db, limit)
    latest = drift_check_result(ctx.db, checks[0]["id"]) if checks else None
    return {"latest": latest, "checks": checks}

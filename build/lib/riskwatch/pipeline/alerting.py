"""The light hook between the loop and the alerts: the end of every run, and the API's watchdog.

Both compute the health verdict (a few SQL queries) and compare it with the stored conditions in
one query; only when a condition opened or cleared, or a repeat or retry is due, is
``riskwatch.alerts`` (and with it Apprise) imported. Nothing here ever raises into its caller.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from riskwatch.answers.health import ALERT_SEVERITY, TIME_KINDS

if TYPE_CHECKING:
    from riskwatch.config import Settings
    from riskwatch.context import RunContext
    from riskwatch.pipeline.run import RunResult

log = logging.getLogger("riskwatch.alerts")


def changed(
    reasons: list[dict[str, Any]],
    live: list[dict[str, Any]],
    now: datetime,
    *,
    scope: frozenset[str] | None = None,
) -> bool:
    """Did a condition open, clear or change severity, or is anything due (repeat, retry)?"""
    want = {
        (r["key"], ALERT_SEVERITY.get(r["severity"], r["severity"]))
        for r in reasons
        if scope is None or r["kind"] in scope
    }
    have = {
        (c["key"], c["severity"])
        for c in live
        if c["resolved_at"] is None and (scope is None or c["kind"] in scope)
    }
    if want != have:
        return True
    return any(
        c["next_due_at"] is not None and datetime.fromisoformat(c["next_due_at"]) <= now
        for c in live
    )


def after_run(
    ctx: RunContext, result: RunResult | None = None, error: BaseException | None = None
) -> None:
    """Evaluate the verdict at the end of a run (also a failed one) and notify what changed."""
    alerts = ctx.settings.alerts
    if not alerts.enabled:
        return
    try:
        from riskwatch.answers.health import health, installed_schedule
        from riskwatch.errors import SourceUnavailable
        from riskwatch.storage.alerts import live_conditions

        now = datetime.now(UTC)
        source_error = None
        if isinstance(error, SourceUnavailable):
            source_error = str(error).splitlines()[0]
        schedule = installed_schedule(ctx) if error is not None else None
        verdict = health(ctx, now=now, source_error=source_error, schedule=schedule)
        infos = informational(result) if alerts.informational and result is not None else []
        if not infos and not changed(verdict["reasons"], live_conditions(ctx.db), now):
            return
        from riskwatch.alerts.notify import evaluate

        outcome = evaluate(
            ctx,
            verdict,
            now=now,
            origin="run",
            run=_run_info(ctx, result, error),
            report=result.report if result is not None else None,
            informational=infos,
        )
        log.info("alerts: %s", outcome.summary())
    except Exception:
        log.warning("alerts: evaluation failed; the run's result is unchanged", exc_info=True)


def _run_info(
    ctx: RunContext, result: RunResult | None, error: BaseException | None
) -> dict[str, Any]:
    if result is not None:
        return {"id": result.run_id, "status": result.status, "outcome": result.outcome}
    from riskwatch.storage.runs import last_run

    last = last_run(ctx.db) or {}
    message = str(error).splitlines()[0] if error is not None and str(error) else ""
    return {"id": last.get("id"), "status": "failed", "outcome": message}


def informational(result: RunResult) -> list[dict[str, Any]]:
    """Opt-in events of a finished run: a champion promoted, a report written."""
    out = []
    for step in result.steps:
        if step.get("step") == "deploy" and str(step.get("decision", "")).startswith("promoted"):
            out.append(
                {
                    "kind": "champion_promoted",
                    "subject": f"v{result.champion}",
                    "message": f"champion v{result.champion} {step['decision']}",
                }
            )
    if result.report:
        out.append(
            {
                "kind": "report_ready",
                "subject": f"run{result.run_id}",
                "message": f"a new report is ready: {result.report}",
            }
        )
    return out


class Watchdog:
    """``riskwatch serve``'s minute loop: re-evaluates the reasons that change with the clock
    alone (missed scheduled runs, champion too old) and sends what is due, on its own thread and
    its own database connection, so requests never wait for it."""

    def __init__(self, settings: Settings, *, schedule: Any = "installed") -> None:
        self.settings = settings
        self.interval = settings.alerts.watchdog_seconds
        self._schedule = schedule  # "installed": read the crontab each time; else the expression
        self._ctx: RunContext | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checks = 0
        self.last_check: datetime | None = None
        self.sent = 0

    def context(self) -> RunContext:
        """The watchdog's own run context (its own metadata connection)."""
        if self._ctx is None:
            from riskwatch.context import RunContext
            from riskwatch.storage.metadata import open_metadata

            self._ctx = RunContext(self.settings, open_metadata(self.settings.metadata_url))
        return self._ctx

    def tick(self, now: datetime | None = None) -> Any:
        """One evaluation at ``now``; returns the alerts outcome, or None when nothing was due."""
        from riskwatch.answers.health import health, installed_schedule
        from riskwatch.storage.alerts import live_conditions

        ctx = self.context()
        now = now or datetime.now(UTC)
        schedule = installed_schedule(ctx) if self._schedule == "installed" else self._schedule
        verdict = health(ctx, now=now, schedule=schedule)
        self.checks += 1
        self.last_check = now
        if not changed(verdict["reasons"], live_conditions(ctx.db), now, scope=TIME_KINDS):
            return None
        from riskwatch.alerts.notify import evaluate

        outcome = evaluate(ctx, verdict, now=now, origin="watchdog", scope=TIME_KINDS)
        self.sent += sum(d["status"] == "sent" for d in outcome.deliveries)
        log.info("alerts (watchdog): %s", outcome.summary())
        return outcome

    def _loop(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:
                log.warning("alerts watchdog: evaluation failed", exc_info=True)
            if self._stop.wait(self.interval):
                return

    def start(self) -> Watchdog:
        """Start the loop on a daemon thread (the first check runs at once)."""
        self._thread = threading.Thread(target=self._loop, daemon=True, name="riskwatch-watchdog")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the loop (a check still sending is left to finish on its daemon thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

"""``riskwatch run``: the whole loop as named, recorded steps.

1. check   sources for new data (light: no pandas/scikit-learn unless there is work)
2. ingest  the new units into a new dataset version
3. drift   check the champion against the new rows (performance, data, prediction drift)
4. train   a challenger when there is drift, no champion, or the champion is too old
5. deploy  by the champion/challenger gate
6. diagnostics, report and the API-style output, always when the dataset changed

Markers in the metadata database (``processed_version``, ``reported_version``) say how far
the dataset has been processed, so a run killed at any point is completed by the next one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from riskwatch.errors import RiskwatchError
from riskwatch.pipeline import failures
from riskwatch.storage import runs
from riskwatch.storage.metadata import now

if TYPE_CHECKING:
    from riskwatch.config import Settings
    from riskwatch.context import RunContext
    from riskwatch.ingest.sources import Unit
    from riskwatch.storage.db import Database

Progress = Callable[[str], None]


@dataclass
class Pending:
    """What step 1 found: the work waiting for this run."""

    units: list[Unit]
    dataset_version: int | None
    processed: int | None
    reported: int | None
    champion: int | None
    champion_too_old: bool

    @property
    def unprocessed(self) -> bool:
        """A dataset version whose decision or report is still missing (e.g. a killed run)."""
        v = self.dataset_version
        return v is not None and (self.processed != v or self.reported != v)

    @property
    def any(self) -> bool:
        """Is there anything to do?"""
        return bool(self.units) or self.unprocessed or self.champion_too_old

    def describe(self) -> list[str]:
        """What a run would do, in words (for ``--dry-run``)."""
        out = [f"ingest {u.source}: {u.name}" for u in self.units]
        if self.unprocessed and not self.units:
            out.append(
                f"finish processing dataset version {self.dataset_version} (left by an earlier run)"
            )
        if self.units or self.unprocessed:
            if self.champion is None:
                out.append("train a first model and deploy it (no champion yet)")
            else:
                out.append(
                    f"check champion v{self.champion} for drift; retrain and gate if it drifted"
                )
            out.append("run diagnostics and write a new report")
        if self.champion_too_old:
            out.append(
                f"retrain: champion v{self.champion} is older than deploy.max_model_age_days"
            )
        return out or ["nothing: no new data"]


@dataclass
class RunResult:
    """The outcome of one run."""

    run_id: int | None
    status: str  # nothing_new | ok | failed | dry_run
    outcome: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    champion: int | None = None
    report: str | None = None
    top: list[dict[str, Any]] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # rejected or over-quarantined data

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return self.__dict__.copy()


def find_pending(settings: Settings, db: Database) -> Pending:
    """Step 1: new units in the sources and work left over (light)."""
    from riskwatch.ingest.job import pending_units
    from riskwatch.storage.datasets import current_version_number
    from riskwatch.storage.models import champion_created_at, champion_version

    units = pending_units(settings, db)
    top = current_version_number(db)
    created = champion_created_at(db)
    too_old = False
    max_age = settings.deploy.max_model_age_days
    if created is not None and max_age is not None:
        too_old = datetime.now(UTC) - datetime.fromisoformat(created) > timedelta(days=max_age)
    return Pending(
        units=units,
        dataset_version=top,
        processed=runs.get_marker(db, runs.PROCESSED),
        reported=runs.get_marker(db, runs.REPORTED),
        champion=champion_version(db),
        champion_too_old=too_old,
    )


class _Steps:
    """Times and records the steps of one run."""

    def __init__(self, db: Database, run_id: int | None, progress: Progress | None) -> None:
        self.db, self.run_id, self.progress = db, run_id, progress
        self.done: list[dict[str, Any]] = []

    @contextmanager
    def step(self, name: str) -> Iterator[dict[str, Any]]:
        """Run a step; the body fills ``decision`` (and any detail) in the yielded dict."""
        if self.progress:
            self.progress(f"{name} ...")
        started, t0 = now(), time.perf_counter()
        info: dict[str, Any] = {"decision": ""}
        try:
            yield info
        except Exception as exc:
            self.failed(name, started, time.perf_counter() - t0, exc)
            raise
        seconds = time.perf_counter() - t0
        decision = str(info.pop("decision"))
        runs.record_step(self.db, self.run_id, name, started, seconds, decision, info)
        self.done.append({"step": name, "seconds": round(seconds, 3), "decision": decision})
        if self.progress:
            self.progress(f"{name}: {decision} ({seconds:.2f} s)")

    def failed(self, name: str, started: str, seconds: float, exc: Exception) -> None:
        """Record a step that raised (best effort: the disk may be full)."""
        decision = f"failed: {failures.one_line(exc)}"
        self.done.append({"step": name, "seconds": round(seconds, 3), "decision": decision})
        step = (self.db, self.run_id, name, started, seconds, decision)
        failures.best_effort(
            f"run {self.run_id}: step {name} not recorded", lambda: runs.record_step(*step)
        )
        if self.progress:
            self.progress(f"{name}: {decision} ({seconds:.2f} s)")


def run(
    ctx: RunContext,
    *,
    trigger: str = "cli",
    dry_run: bool = False,
    progress: Progress | None = None,
    alert: bool = True,
    wait_report: bool = False,
) -> RunResult:
    """Run the whole process once; the caller holds the workspace lock (unless dry-run).

    At the end, also when the run failed, the health verdict is evaluated for alerts
    (``pipeline.alerting``; ``alert=False``: the caller checked that nothing is due);
    delivery never changes the result or the exception.
    """
    if dry_run:
        pending = find_pending(ctx.settings, ctx.db)
        return RunResult(None, "dry_run", "dry run: nothing changed", plan=pending.describe())
    result: RunResult | None = None
    error: Exception | None = None
    try:
        result = _run(ctx, trigger, progress, wait_report)
        return result
    except Exception as exc:
        error = exc
        raise
    finally:
        if alert and (result is not None or error is not None):
            _alert(ctx, result, error)


def _alert(ctx: RunContext, result: RunResult | None, error: Exception | None) -> None:
    if ctx.settings.alerts.enabled:  # import nothing more when alerts are off
        from riskwatch.pipeline.alerting import after_run

        after_run(ctx, result, error)


def _run(ctx: RunContext, trigger: str, progress: Progress | None, wait_report: bool) -> RunResult:
    settings, db = ctx.settings, ctx.db
    try:
        pending = find_pending(settings, db)
    except RiskwatchError as exc:  # e.g. a database down: record the failed run, lose nothing
        run_id = runs.start_run(db, trigger)
        runs.record_step(db, run_id, "check", now(), 0.0, f"failed: {exc}")
        runs.finish_run(db, run_id, "failed", f"failed: {exc}", message=str(exc))
        raise
    failures.remove_orphans(ctx.ws)
    if not pending.any:
        run_id = runs.start_run(db, trigger)
        runs.record_step(db, run_id, "check", now(), 0.0, "no new data")
        runs.finish_run(db, run_id, "nothing_new", "no new data")
        return RunResult(
            run_id,
            "nothing_new",
            "no new data",
            [{"step": "check", "decision": "no new data"}],
            champion=pending.champion,
        )
    run_id = runs.start_run(db, trigger)
    steps = _Steps(db, run_id, progress)
    try:
        result = _process(ctx, pending, steps, wait_report)
    except Exception as exc:
        message = failures.one_line(exc)
        outcome = (db, run_id, "failed", f"failed: {message}")
        failures.best_effort(
            f"run {run_id}: could not record its failure",
            lambda: runs.finish_run(*outcome, message=message, detail=steps.done),
        )
        machine = failures.machine_error(exc)
        if machine:
            raise RiskwatchError(f"run {run_id} failed: {machine}") from None
        raise
    runs.finish_run(db, run_id, "ok", result.outcome, detail=result.to_dict())
    return result


def _process(ctx: RunContext, pending: Pending, steps: _Steps, wait_report: bool) -> RunResult:
    """Steps 1-6 once there is work."""
    from riskwatch.ingest import job

    with steps.step("check") as info:
        info["decision"] = (
            f"{len(pending.units)} new unit(s)"
            if pending.units
            else "no new units; resuming earlier work"
        )
        info["units"] = [f"{u.source}: {u.name}" for u in pending.units]
    problems: list[str] = []
    if pending.units:
        with steps.step("ingest") as info:
            report = job.ingest(ctx, pending.units)
            info["decision"] = job.summary(report).splitlines()[0]
            info.update(
                accepted=report.accepted,
                version=report.dataset_version,
                rejected=[u.unit for u in report.rejected],
            )
        problems = data_problems(report, ctx.settings.monitoring.max_quarantine_share)
    if ctx.version is None:
        return RunResult(steps.run_id, "ok", "no accepted data yet", steps.done, problems=problems)
    version = ctx.version.version
    processed = runs.get_marker(ctx.db, runs.PROCESSED)
    outcome = "model unchanged"
    if processed != version or pending.champion_too_old:
        outcome = _decide(ctx, steps, processed, pending.champion_too_old)
        runs.set_marker(ctx.db, runs.PROCESSED, version)
    inline = wait_report or not ctx.settings.report.background
    report_path = _report(ctx, steps, version, inline=inline)
    return RunResult(
        steps.run_id,
        "ok",
        outcome,
        steps.done,
        champion=ctx.champion_version(),
        report=report_path,
        top=_top(ctx),
        problems=problems,
    )


def data_problems(report: Any, max_share: float) -> list[str]:
    """Units rejected whole, and units whose quarantined share exceeds ``max_share``."""
    out = [f"rejected {u.source}: {u.unit}: {u.message}" for u in report.rejected]
    for u in report.units:
        if u.status != "rejected" and u.read and u.quarantined / u.read > max_share:
            out.append(
                f"{u.source}: {u.unit}: {u.quarantined} of {u.read} rows quarantined "
                f"({u.quarantined / u.read:.0%} > monitoring.max_quarantine_share "
                f"{max_share:.0%}; see {u.quarantine_path})"
            )
    return out


def _decide(ctx: RunContext, steps: _Steps, processed: int | None, too_old: bool) -> str:
    """Steps 3-5: drift check, retrain and gate."""
    from riskwatch.monitoring.check import check_batch
    from riskwatch.registry import lifecycle

    champion = ctx.champion()
    reasons: list[str] = []
    with steps.step("drift") as info:
        if champion is None:
            info["decision"] = "no champion yet"
            reasons.append("no champion yet")
        else:
            batch = ctx.new_rows(processed).frame
            if len(batch):
                name = f"dataset v{processed or 0}..v{ctx.version.version if ctx.version else 0}"
                check = check_batch(
                    ctx, batch=batch, batch_name=name, model=champion, run_id=steps.run_id
                )
                info["decision"] = check.verdict + (
                    ": " + "; ".join(check.reasons[:3]) if check.reasons else ""
                )
                info["check"] = check.to_dict()
                if check.retrain_recommended:
                    reasons.extend(check.reasons or [check.verdict])
            else:
                info["decision"] = "no new rows to check"
        if too_old and champion is not None:
            reasons.append(
                f"champion v{champion.version} is older than "
                f"{ctx.settings.deploy.max_model_age_days} days"
            )
    if not reasons:
        return f"no drift: champion v{champion.version if champion else '-'} kept"
    why = "; ".join(reasons)
    with steps.step("train") as info:
        trained = lifecycle.train_and_register(ctx, reason=why)
        info["decision"] = f"trained v{trained.version}" if trained.version else trained.why
        info["outcome"] = trained.to_dict()
    if trained.version is None:
        return f"retrain ({why}) changed nothing: {trained.why}"
    with steps.step("deploy") as info:
        decision = lifecycle.deploy(ctx, trained.version, reason=why, actor="pipeline")
        detail = decision.to_dict()
        info["decision"] = (
            "promoted" if decision.promoted else "kept champion"
        ) + f": {decision.reason}"
        info["gate"] = detail
    verb = "promoted" if decision.promoted else "not promoted"
    return f"retrained ({why}); v{trained.version} {verb}"


def _report(ctx: RunContext, steps: _Steps, version: int, *, inline: bool) -> str | None:
    """Step 6: diagnostics, call list, and the report with the API-style output (skipped when
    already written). The report is written by a child process after the run unless ``inline``:
    a run's decisions do not wait for figures and a PDF."""
    if runs.get_marker(ctx.db, runs.REPORTED) == version:
        return None
    import importlib.util

    from riskwatch.answers.risk import record_top
    from riskwatch.monitoring.diagnostics import run_diagnostics

    with steps.step("diagnostics") as info:
        run_diagnostics(ctx)
        info["decision"] = "stored"
    with steps.step("report") as info:
        record_top(ctx)
        if importlib.util.find_spec("matplotlib") is None:  # a core install without the extra
            info["decision"] = "skipped: pip install 'riskwatch[reports]' for HTML/PDF reports"
            runs.set_marker(ctx.db, runs.REPORTED, version)
            return None
        if not inline:
            pid, log = spawn_report(ctx, version=version, run_id=steps.run_id)
            info["decision"] = f"writing in the background (pid {pid}; log {log})"
            return None
        paths = write_report(ctx, version=version, run_id=steps.run_id)
        info["decision"] = f"written to {paths.folder}"
    return str(paths.html)


def write_report(ctx: RunContext, *, version: int, run_id: int | None) -> Any:
    """Write the report of dataset ``version`` and mark it written (the caller holds the lock)."""
    from riskwatch.reporting.report import build_report

    paths = build_report(ctx, run_id=run_id)
    runs.set_marker(ctx.db, runs.REPORTED, version)
    return paths


def spawn_report(ctx: RunContext, *, version: int, run_id: int | None) -> tuple[int, str]:
    """Start ``riskwatch report --for-version`` detached; it waits for this run's lock."""
    import subprocess
    import sys

    log = ctx.ws.logs / "report.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "riskwatch",
        "--config",
        str(ctx.settings.config_file),
        "report",
        "--for-version",
        str(version),
    ]
    if run_id is not None:
        command += ["--run-id", str(run_id)]
    with log.open("ab") as out:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            close_fds=True,
        )
    return child.pid, str(log.relative_to(ctx.ws.root))


def _top(ctx: RunContext, n: int = 5) -> list[dict[str, Any]]:
    """The top of the call list, for the summary."""
    from riskwatch.answers.risk import risk

    try:
        answer = risk(ctx, n)
    except Exception:  # the summary must not fail a finished run
        return []
    return list(answer.get("clients", []))[:n]

"""Is everything fine? One verdict, OK / ATTENTION / FAILING, with a short line per reason.

Every reason has a stable key (kind + subject) so alerting can follow it from open to resolved.
FAILING means the loop is not working (runs fail or stopped, a source is unreachable);
ATTENTION means it works but a person should look (drift not yet dealt with, a retrain that did
not help, rejected data, an old champion, a champion deployed by force or rolled back, an alert
channel that keeps failing). Reads only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskwatch.context import RunContext

OK, ATTENTION, FAILING = "ok", "attention", "failing"
ALERT_SEVERITY = {ATTENTION: "warning", FAILING: "critical"}  # what alerts call them
TIME_KINDS = frozenset({"missed_runs", "champion_too_old"})  # reasons the clock alone changes
KINDS = (
    "run_failed",
    "run_killed",
    "missed_runs",
    "source_unreachable",
    "data_rejected",
    "data_quarantined",
    "no_champion",
    "drift_open",
    "retrain_did_not_help",
    "champion_too_old",
    "forced_deployment",
    "rollback",
    "delivery_failing",
)
CHECK_EXIT = {OK: 0, ATTENTION: 1, FAILING: 2}  # `status --check`: the Nagios convention
GRACE = timedelta(minutes=5)  # a scheduled run may start this late before it counts as missed


@dataclass
class Reason:
    """One thing that is not fine."""

    kind: str
    subject: str
    severity: str  # attention | failing
    message: str  # one short line
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.message = _short(self.message, 100)  # one short line; the detail has the rest

    @property
    def key(self) -> str:
        """Stable identity: the same condition keeps the same key until it clears."""
        return f"{self.kind}:{self.subject}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"key": self.key, **asdict(self)}


def verdict(reasons: list[Reason]) -> str:
    """``failing`` if any reason fails, ``attention`` if any needs a look, else ``ok``."""
    if any(r.severity == FAILING for r in reasons):
        return FAILING
    return ATTENTION if reasons else OK


def health(
    ctx: RunContext,
    *,
    now: datetime | None = None,
    source_error: str | None = None,
    schedule: str | None = None,
) -> dict[str, Any]:
    """The verdict and its reasons (``schedule``: the installed cron expression, if any)."""
    now = now or datetime.now(UTC)
    reasons = [
        *_runs(ctx, now, schedule),
        *_sources(source_error),
        *_data(ctx),
        *_model(ctx, now),
        *_deployment(ctx),
        *_alerts(ctx),
    ]
    return {"health": verdict(reasons), "reasons": [r.to_dict() for r in reasons]}


def installed_schedule(ctx: RunContext) -> str | None:
    """The cron expression installed for this config, or None (no crontab, not scheduled)."""
    try:
        from riskwatch.pipeline.schedule import installed

        lines = installed(ctx.settings.config_file)
    except Exception:  # no crontab binary, no permission, settings not from a file
        return None
    return " ".join(lines[0].split()[:5]) if lines else None


def current(ctx: RunContext, *, now: datetime | None = None) -> dict[str, Any]:
    """The verdict from recorded state and the installed schedule (sources are not probed)."""
    return health(ctx, now=now, schedule=installed_schedule(ctx))


def _runs(ctx: RunContext, now: datetime, schedule: str | None) -> list[Reason]:
    from riskwatch.storage.runs import last_run, last_successful_run

    out: list[Reason] = []
    last = last_run(ctx.db)
    if last is not None and last["status"] in ("failed", "killed"):
        out.append(
            Reason(
                f"run_{last['status']}",
                "pipeline",
                FAILING,
                f"last run #{last['id']} {last['status']}: {_short(last['message'] or '')}",
                {"run": last["id"], "at": last["started_at"]},
            )
        )
    good = last_successful_run(ctx.db)
    if schedule:
        missed = _missed(schedule, now, good["started_at"] if good else None)
        if missed:
            since = good["started_at"][:16] if good else "never"
            out.append(
                Reason(
                    "missed_runs",
                    "schedule",
                    FAILING,
                    f"no successful run since {since}: scheduled runs ({schedule}) were missed",
                    {"schedule": schedule, "last_success": good["started_at"] if good else None},
                )
            )
    return out


def _missed(schedule: str, now: datetime, last_success: str | None) -> bool:
    """Did at least two scheduled times pass (plus a grace) since the last successful run?"""
    from croniter import croniter

    local_now = now.astimezone().replace(tzinfo=None)
    it = croniter(schedule, local_now - GRACE)
    it.get_prev(datetime)
    second = it.get_prev(datetime).astimezone(UTC)
    if last_success is None:
        return False  # nothing ran yet: the first run is not overdue until it had its chance
    return datetime.fromisoformat(last_success) < second


def _sources(error: str | None) -> list[Reason]:
    if not error:
        return []
    return [Reason("source_unreachable", "sources", FAILING, _short(error), {"error": error})]


def _data(ctx: RunContext) -> list[Reason]:
    from riskwatch.storage.ingestions import last_ingestion_batch, open_rejections

    out = [
        Reason(
            "data_rejected",
            f"{r['source']}/{r['unit']}",
            ATTENTION,
            f"rejected {r['source']}: {_short(r['unit'], 40)}: {_short(r['message'] or '', 60)}",
            {"message": r["message"], "at": r["finished_at"]},
        )
        for r in open_rejections(ctx.db)
    ]
    limit = ctx.settings.monitoring.max_quarantine_share
    for r in last_ingestion_batch(ctx.db):
        read = int(r["rows_read"] or 0)
        share = int(r["rows_quarantined"] or 0) / read if read else 0.0
        if r["status"] == "ingested" and share > limit:
            out.append(
                Reason(
                    "data_quarantined",
                    f"{r['source']}/{r['unit']}",
                    ATTENTION,
                    f"{share:.0%} of {_short(r['unit'], 40)} quarantined (limit {limit:.0%})",
                    {"share": share, "quarantine": r["quarantine_path"]},
                )
            )
    return out


def _model(ctx: RunContext, now: datetime) -> list[Reason]:
    from riskwatch.storage.models import deployments, model_row
    from riskwatch.storage.records import latest_check_of

    version = ctx.champion_version()
    if version is None:
        return [Reason("no_champion", "model", ATTENTION, "no champion yet: run `riskwatch run`")]
    out: list[Reason] = []
    check = latest_check_of(ctx.db, version)
    if check is not None and check["verdict"] == "drift":
        out.append(
            Reason(
                "drift_open",
                f"v{version}",
                ATTENTION,
                f"drift on {check['batch']} not dealt with yet (champion v{version})",
                {"check": check["id"], "reasons": check["reasons"]},
            )
        )
        refused = [
            d
            for d in deployments(ctx.db, 10)
            if d["decision"] == "rejected"
            and d["champion"] == version
            and d["at"] > check["checked_at"]
        ]
        if refused:
            out.append(
                Reason(
                    "retrain_did_not_help",
                    f"v{version}",
                    ATTENTION,
                    f"retrained v{refused[0]['candidate']} did not beat v{version}: "
                    f"{_short(refused[0]['reason'], 70)}",
                    {"deployment": refused[0]},
                )
            )
    max_age = ctx.settings.deploy.max_model_age_days
    if max_age is not None:
        created = datetime.fromisoformat(model_row(ctx.db, version)["created_at"])
        age = now - created
        if age > timedelta(days=max_age):
            out.append(
                Reason(
                    "champion_too_old",
                    f"v{version}",
                    ATTENTION,
                    f"champion v{version} is {age.days} days old (limit {max_age})",
                    {"created_at": created.isoformat()},
                )
            )
    return out


def _deployment(ctx: RunContext) -> list[Reason]:
    """The champion was not put there by the gate: a forced deployment or a rollback."""
    from riskwatch.storage.models import alias_history, deployments

    version = ctx.champion_version()
    history = alias_history(ctx.db)
    moves = [i for i, h in enumerate(history) if h["alias"] == "champion"]
    if version is None or not moves or history[moves[-1]]["version"] != version:
        return []
    move = history[moves[-1]]
    after = [h for h in history[moves[-1] + 1 :] if h["alias"] == "previous"]
    who = f"by {move['actor']}: {_short(move['reason'], 50)}"
    if after and after[0]["reason"] == "rolled back":
        return [
            Reason(
                "rollback",
                f"v{version}",
                ATTENTION,
                f"champion rolled back from v{after[0]['version']} to v{version} {who}",
                {"from": after[0]["version"], "at": move["at"], "actor": move["actor"]},
            )
        ]
    promoted = next(
        (
            d
            for d in deployments(ctx.db, 20)
            if d["candidate"] == version and d["decision"] == "promoted"
        ),
        None,
    )
    if promoted is not None and promoted["forced"]:
        return [
            Reason(
                "forced_deployment",
                f"v{version}",
                ATTENTION,
                f"champion v{version} was deployed by force, past the gate, {who}",
                {"at": promoted["at"], "actor": promoted["actor"], "gate": promoted["reason"]},
            )
        ]
    return []


def _alerts(ctx: RunContext) -> list[Reason]:
    """Alert channels whose last deliveries all failed."""
    alerts = ctx.settings.alerts
    if not alerts.enabled:
        return []
    from riskwatch.storage.alerts import failing_channels

    names = [t.name for t in alerts.targets()]
    return [
        Reason(
            "delivery_failing",
            f["channel"],
            ATTENTION,
            f"alerts to {f['channel']} ({f['target']}) failed {f['failures']} times in a row: "
            f"{_short(f['error'] or '', 50)}",
            f,
        )
        for f in failing_channels(ctx.db, names, alerts.failures_before_reason)
    ]


def _short(text: str, limit: int = 90) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"

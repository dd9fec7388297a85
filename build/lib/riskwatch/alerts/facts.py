"""What a person needs to act on an alert: the key figures, what riskwatch did, what to do.

Read from the stored records (drift checks, gate decisions, ingestions, runs) for each event;
a fact that cannot be read is left out, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskwatch.alerts.conditions import Event
    from riskwatch.context import RunContext

log = logging.getLogger("riskwatch.alerts")
Facts = dict[str, Any]


def explain(ctx: RunContext, event: Event) -> Facts:
    """``{"figures": [...], "did": str, "todo": str}`` for one event (empty parts left out)."""
    handler = _HANDLERS.get(event.kind)
    facts: Facts = {"figures": [], "did": "", "todo": _TODO.get(event.kind, "")}
    try:
        if handler is not None:
            facts.update({k: v for k, v in handler(ctx, event).items() if v})
        if event.event == "resolved":
            facts["did"] = _resolution(ctx, event)
            facts["todo"] = "nothing: the condition cleared by itself"
    except Exception:  # facts are a courtesy: the alert goes out without them
        log.warning("could not gather the facts of %s", event.key, exc_info=True)
    return facts


_TODO = {
    "drift_open": "look at the drift section of the report and the dashboard; if the business "
    "changed (pricing, a competitor, a merger wave) tell the people who own the model",
    "retrain_did_not_help": "check the new months' data in the report; more labelled months, "
    "another training.model, or `riskwatch deploy VERSION --force --reason ...` if you accept "
    "the candidate",
    "data_rejected": "fix the file as the message says and drop it again (a changed file is "
    "read again)",
    "data_quarantined": "open the quarantine file, fix the export, and drop the corrected rows",
    "source_unreachable": "check that the database or folder is up and the credentials are "
    "right (RISKWATCH_SOURCE_<NAME>_URL); the next run retries by itself",
    "run_failed": "see `riskwatch runs` and workspace/logs/riskwatch.log; fix the cause, then "
    "`riskwatch run`",
    "run_killed": "see why the process stopped (memory, reboot); the next run completes its work",
    "missed_runs": "check that cron runs (`systemctl status cron`), `riskwatch schedule show`, "
    "and workspace/logs/cron-output.log",
    "champion_too_old": "run `riskwatch run` (it retrains an old champion) or raise "
    "deploy.max_model_age_days",
    "no_champion": "run `riskwatch run` to train and deploy a first model",
    "forced_deployment": "review the forced model; the next gated promotion clears this",
    "rollback": "find out why the newer model was rolled back; the next gated promotion "
    "clears this",
    "delivery_failing": "check the channel's URL and credentials with `riskwatch alerts test`",
}


def _drift(ctx: RunContext, event: Event) -> Facts:
    from riskwatch.storage.ingestions import recent_ingestions
    from riskwatch.storage.records import drift_check_result

    check = drift_check_result(ctx.db, event.detail.get("check"))
    if not check:
        return {}
    figures = []
    perf, calib = check.get("performance") or {}, check.get("calibration") or {}
    months = _batch_units(check.get("batch", ""), recent_ingestions(ctx.db, 100))
    of = f" of {months}" if months else ""
    rows = perf.get("rows")
    if calib:
        figures.append(
            f"attrition {calib['observed_rate']:.3f} observed vs {calib['predicted_rate']:.3f} "
            f"predicted on {rows:,} clients{of}"
            if rows
            else f"attrition {calib['observed_rate']:.3f} observed vs "
            f"{calib['predicted_rate']:.3f} predicted{of}"
        )
    if perf.get("value") is not None and perf.get("limit") is not None:
        figures.append(
            f"{perf['metric']} {perf['value']:.4f} (baseline {perf.get('baseline') or 0:.4f}, "
            f"limit {perf['limit']:.4f})"
        )
    data = check.get("data") or {}
    if data.get("drifted_columns"):
        figures.append(
            f"data drift in {len(data['drifted_columns'])}/{len(data.get('columns') or [])} "
            f"features: {', '.join(map(str, data['drifted_columns'][:5]))}"
        )
    return {"figures": figures, "did": _gate_after(ctx, event)}


def _batch_units(batch: str, ingestions: list[dict[str, Any]]) -> str:
    """The unit names (e.g. month-07.csv) of a batch named ``dataset vA..vB``."""
    try:
        low, high = (int(p.strip().lstrip("v")) for p in batch.split("dataset", 1)[1].split(".."))
    except (ValueError, IndexError):
        return ""
    units = sorted(
        {
            i["unit"]
            for i in ingestions
            if i["dataset_version"] is not None and low < int(i["dataset_version"]) <= high
        }
    )
    return ", ".join(units[:4]) + (" ..." if len(units) > 4 else "")


def _gate_after(ctx: RunContext, event: Event) -> str:
    from riskwatch.storage.models import deployments

    version = event.subject.lstrip("v")
    for d in deployments(ctx.db, 10):
        if str(d["champion"]) == version and d["decision"] == "rejected":
            return (
                f"retrained v{d['candidate']}; the gate kept v{version}: {d['reason']}"
                if d["candidate"]
                else ""
            )
        if str(d["champion"]) == version and d["decision"] == "promoted":
            return f"retrained and promoted v{d['candidate']} ({d['reason']})"
    return "recorded the check; the next run with new data retrains"


def _retrain(ctx: RunContext, event: Event) -> Facts:
    d = event.detail.get("deployment") or {}
    figures = []
    if d.get("candidate_score") is not None and d.get("champion_score") is not None:
        figures.append(
            f"{d['metric']}: candidate v{d['candidate']} {d['candidate_score']:.4f} vs champion "
            f"v{d['champion']} {d['champion_score']:.4f} on {d.get('eval_set')}"
        )
    return {"figures": figures, "did": f"kept v{d.get('champion')} in production"}


def _data(_: RunContext, event: Event) -> Facts:
    detail = event.detail
    if event.kind == "data_quarantined":
        return {
            "figures": [f"{detail.get('share', 0):.0%} of {event.subject} quarantined"],
            "did": f"ingested the valid rows; set the rest aside in {detail.get('quarantine')}",
        }
    return {
        "figures": [f"{event.subject}: {detail.get('message')}"],
        "did": "kept the file out; the dataset and the model are unchanged",
    }


def _runs(ctx: RunContext, event: Event) -> Facts:
    from riskwatch.storage.runs import last_successful_run

    good = last_successful_run(ctx.db)
    since = f"last successful run #{good['id']} at {good['started_at'][:16]}" if good else ""
    did = {
        "missed_runs": "nothing: no run has happened since",
        "source_unreachable": "recorded the failed run; nothing was lost",
        "run_failed": "recorded the failed run; the data and the model are unchanged",
    }.get(event.kind, "")
    return {"figures": [since] if since else [], "did": did}


def _age(_: RunContext, event: Event) -> Facts:
    return {
        "figures": [f"trained {str(event.detail.get('created_at', ''))[:10]}"],
        "did": "the next run retrains it and gates the new model",
    }


def _delivery(_: RunContext, event: Event) -> Facts:
    d = event.detail
    return {
        "figures": [f"{d.get('failures')} failed deliveries since {str(d.get('since'))[:16]}"],
        "did": "kept retrying with backoff; the other channels still get alerts",
    }


def _resolution(ctx: RunContext, event: Event) -> str:
    from riskwatch.storage.models import champion_version, deployments

    opened = str(event.opened_at or "")
    champion = champion_version(ctx.db)
    promoted = next(
        (
            d
            for d in deployments(ctx.db, 10)
            if d["decision"] == "promoted" and d["at"] > opened and d["candidate"] == champion
        ),
        None,
    )
    if promoted is not None and not promoted["forced"]:
        return (
            f"cleared (open since {opened[:16]} UTC): retrained v{promoted['candidate']} passed "
            f"the gate and serves now ({promoted['reason']})"
        )
    now = f"champion is v{champion}" if champion is not None else "no champion"
    return f"cleared (open since {opened[:16]} UTC); {now}"


_HANDLERS: dict[str, Callable[[RunContext, Event], Facts]] = {
    "drift_open": _drift,
    "retrain_did_not_help": _retrain,
    "data_rejected": _data,
    "data_quarantined": _data,
    "missed_runs": _runs,
    "source_unreachable": _runs,
    "run_failed": _runs,
    "run_killed": _runs,
    "champion_too_old": _age,
    "delivery_failing": _delivery,
}

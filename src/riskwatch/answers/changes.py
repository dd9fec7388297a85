"""What changed since the last report? Data, drift, model, call list turnover and health.

Compares the answers of this report (:func:`riskwatch.answers.snapshot.snapshot`) with the
``apireturns.json`` (and ``summary.json``) the previous report wrote, plus what the metadata
recorded in between (ingestions, drift checks, gate decisions). Reads only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskwatch.labels import label

if TYPE_CHECKING:
    from riskwatch.context import RunContext


def changes(
    ctx: RunContext,
    current: dict[str, Any],
    previous: dict[str, Any] | None,
    *,
    health_now: str | None = None,
) -> dict[str, Any]:
    """One line per kind of change since ``previous`` (``storage.reports.previous_report``).

    Args:
        current: this report's answers (the snapshot).
        previous: the previous report, or None for the first report.
        health_now: this report's health verdict.

    Returns:
        ``{"since": folder | None, "at": iso | None, "items": [{"what", "text", "changed"}]}``.
    """
    if previous is None:
        return {
            "since": None,
            "at": None,
            "items": [
                {"what": "first report", "text": "nothing to compare with", "changed": False}
            ],
        }
    before, at = previous["answers"], previous["at"]
    items = [
        _data(ctx, current, before, at),
        _drift(ctx, at),
        _model(ctx, current, before, at),
        turnover(current.get("risk") or {}, before.get("risk") or {}),
    ]
    was = (previous.get("summary") or {}).get("health")
    if health_now is not None and was is not None:
        items.append(
            {
                "what": "health",
                "text": f"{was.upper()} → {health_now.upper()}"
                if was != health_now
                else f"still {health_now.upper()}",
                "changed": was != health_now,
            }
        )
    return {"since": previous["folder"], "at": at, "items": items}


def turnover(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """Who entered and left the top of the call list (pure)."""
    new_ids = [str(c["id"]) for c in now.get("clients", [])]
    old_ids = [str(c["id"]) for c in before.get("clients", [])]
    if not old_ids or not new_ids:
        return {"what": "call list", "text": "no earlier call list to compare", "changed": False}
    n = min(len(new_ids), len(old_ids))
    top_new, top_old = set(new_ids[:n]), set(old_ids[:n])
    entered = [i for i in new_ids[:n] if i not in top_old]
    kept = n - len(entered)
    text = f"top {n}: {len(entered)} new clients, {kept / n:.0%} the same as last time"
    if now.get("at_risk") is not None and before.get("at_risk") is not None:
        text += f"; clients at risk {before['at_risk']:,} → {now['at_risk']:,}"
    return {
        "what": "call list",
        "text": text,
        "changed": bool(entered),
        "entered": entered[:20],
        "left": [i for i in old_ids[:n] if i not in top_new][:20],
        "overlap": kept / n,
    }


def _data(ctx: RunContext, now: dict[str, Any], before: dict[str, Any], at: str) -> dict[str, Any]:
    from riskwatch.storage.ingestions import recent_ingestions

    def version_rows(answers: dict[str, Any]) -> tuple[Any, Any]:
        summary = (answers.get("summarystats") or {}).get("summary") or {}
        rows = (summary.get("data") or {}).get("rows")
        return (answers.get("risk") or {}).get("dataset_version"), rows

    (v_old, r_old), (v_new, r_new) = version_rows(before), version_rows(now)
    units = [u for u in recent_ingestions(ctx.db, 200) if str(u["finished_at"] or "") > at]
    quarantined = sum(int(u["rows_quarantined"] or 0) for u in units)
    rejected = sum(1 for u in units if u["status"] == "rejected")
    if v_old == v_new:
        text = f"no new data (dataset v{v_new})"
    else:
        added = (
            f", {r_new - r_old:+,} rows"
            if isinstance(r_old, int) and isinstance(r_new, int)
            else ""
        )
        text = f"dataset v{v_old} → v{v_new}{added}"
    if units:
        text += f"; {len(units)} unit(s) ingested, {quarantined:,} rows quarantined"
        text += f", {rejected} rejected" if rejected else ""
    return {"what": "data", "text": text, "changed": v_old != v_new or bool(units)}


def _drift(ctx: RunContext, at: str) -> dict[str, Any]:
    from riskwatch.storage.records import drift_checks

    checks = [c for c in drift_checks(ctx.db, 50) if str(c["checked_at"]) > at]
    if not checks:
        return {"what": "drift", "text": "no new drift check", "changed": False}
    drifted = [c for c in checks if c["verdict"] == "drift"]
    newest = checks[0]
    text = f"{len(checks)} check(s), {len(drifted)} with drift; newest: "
    text += f"{newest['verdict'].replace('_', ' ')} on {newest['batch']}"
    return {"what": "drift", "text": text, "changed": bool(drifted)}


def _model(ctx: RunContext, now: dict[str, Any], before: dict[str, Any], at: str) -> dict[str, Any]:
    from riskwatch.storage.models import deployments

    def headline(answers: dict[str, Any]) -> tuple[Any, Any, Any]:
        sc = answers.get("scoring") or {}
        metric = sc.get("primary_metric") or "roc_auc"
        return sc.get("model_version"), metric, (sc.get("metrics") or {}).get(metric)

    (old, _, _), (new, metric, new_value) = headline(before), headline(now)
    gates = [d for d in deployments(ctx.db, 50) if str(d["at"]) > at]
    refused = sum(1 for d in gates if d["decision"] == "rejected")
    if old != new:
        text = f"champion v{old} → v{new}"
        if isinstance(new_value, float):
            text += f" ({label(metric)} {new_value:.3f} on its own evaluation set)"
    else:
        text = f"champion v{new} kept"
    if refused:
        text += f"; {refused} retrained model(s) did not pass the gate"
    return {"what": "model", "text": text, "changed": old != new}

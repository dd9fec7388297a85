"""``riskwatch status``: sources and pending data, champion, last drift verdict, last and next run."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from riskwatch.storage import runs

if TYPE_CHECKING:
    from riskwatch.config import Settings
    from riskwatch.storage.db import Database
    from riskwatch.storage.workspace import Workspace

_KEY_METRICS = ("f1", "roc_auc", "pr_auc", "precision_at_k", "brier")


def collect(settings: Settings, ws: Workspace, db: Database) -> dict[str, Any]:
    """Everything ``status`` shows, as JSON-ready data (reads only; never changes anything)."""
    from riskwatch import intake

    sources: list[dict[str, Any]] = []
    try:
        pending = intake.pending_units(settings, db)
        error = None
    except Exception as exc:  # an unreachable source is a status, not a crash
        pending, error = [], str(exc).splitlines()[0]
    for name, src in settings.sources.items():
        where = src.path if src.kind == "folder" else f"{src.table} @ {_redact(src.url)}"
        sources.append(
            {
                "name": name,
                "kind": src.kind,
                "where": str(where),
                "pending": [u.name for u in pending if u.source == name],
            }
        )
    version = db.execute(
        "SELECT version, rows, created_at FROM dataset_versions ORDER BY version DESC LIMIT 1"
    )
    return {
        "config": str(settings.config_path),
        "workspace": str(ws.root),
        "sources": sources,
        "source_error": error,
        "dataset": {"version": version[0][0], "rows": version[0][1], "created_at": version[0][2]}
        if version
        else None,
        "champion": _champion(db),
        "last_drift": _last_drift(db),
        "last_run": runs.last_run(db),
        "next_run": _next_run(settings),
    }


def _redact(url: str | None) -> str:
    from riskwatch.storage.db import redact

    return redact(url or "")


def _champion(db: Database) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT m.version, m.kind, m.created_at, a.updated_at FROM aliases a "
        "JOIN models m ON m.version = a.version WHERE a.alias = 'champion'"
    )
    if not row:
        return None
    version, kind, created, since = row[0]
    metrics = db.execute(
        "SELECT eval_set, metrics, computed_at FROM model_metrics WHERE model_version = :v "
        "ORDER BY id DESC LIMIT 1",
        {"v": version},
    )
    shown: dict[str, Any] = {}
    if metrics:
        values = json.loads(metrics[0][1])
        shown = {k: values.get(k) for k in _KEY_METRICS if k in values}
    return {
        "version": version,
        "kind": kind,
        "created_at": created,
        "champion_since": since,
        "eval_set": metrics[0][0] if metrics else None,
        "metrics": shown,
    }


def _last_drift(db: Database) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT batch, model_version, verdict, reasons, checked_at FROM drift_checks ORDER BY id DESC LIMIT 1"
    )
    if not row:
        return None
    batch, model, verdict, reasons, at = row[0]
    return {
        "batch": batch,
        "model_version": model,
        "verdict": verdict,
        "reasons": json.loads(reasons),
        "checked_at": at,
    }


def _next_run(settings: Settings) -> dict[str, Any] | None:
    try:
        from riskwatch.scheduling import installed, next_run

        lines = installed(settings.config_file)
    except Exception:  # no crontab binary or no permission: report as not scheduled
        return None
    if not lines:
        return None
    schedule = " ".join(lines[0].split()[:5])
    return {"schedule": schedule, "next": next_run(schedule).isoformat(timespec="minutes")}


def render(info: dict[str, Any]) -> str:
    """The one-screen text form."""
    out = [f"config     {info['config']}", f"workspace  {info['workspace']}", "sources"]
    for s in info["sources"]:
        out.append(f"  {s['name']:<12} {s['kind']:<6} {s['where']}  pending: {len(s['pending'])}")
    if info["source_error"]:
        out.append(f"  error: {info['source_error']}")
    d = info["dataset"]
    out.append(
        f"dataset    v{d['version']}: {d['rows']} rows ({d['created_at'][:19]})"
        if d
        else "dataset    none yet"
    )
    c = info["champion"]
    if c:
        metrics = ", ".join(
            f"{k} {v:.3f}" for k, v in c["metrics"].items() if isinstance(v, int | float)
        )
        out.append(
            f"champion   v{c['version']} {c['kind']} since {c['champion_since'][:19]}; {metrics}"
        )
    else:
        out.append("champion   none yet")
    dr = info["last_drift"]
    out.append(
        f"drift      {dr['verdict']} on {dr['batch']} ({dr['checked_at'][:19]})"
        if dr
        else "drift      no check yet"
    )
    r = info["last_run"]
    out.append(
        f"last run   #{r['id']} {r['started_at'][:19]} {r['status']}: {r['outcome'] or r['message'] or ''}"
        if r
        else "last run   never"
    )
    n = info["next_run"]
    out.append(
        f"next run   {n['next']} ({n['schedule']})"
        if n
        else "next run   not scheduled (riskwatch schedule install)"
    )
    return "\n".join(out)

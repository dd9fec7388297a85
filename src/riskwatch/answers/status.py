"""Is everything fine? Sources and pending data, champion, last drift verdict, last and next run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskwatch.storage import runs

if TYPE_CHECKING:
    from riskwatch.config import Settings
    from riskwatch.context import RunContext


def status(ctx: RunContext) -> dict[str, Any]:
    """Everything ``status`` shows, as JSON-ready data (reads only; never changes anything)."""
    from riskwatch.ingest.job import pending_units
    from riskwatch.storage.db import redact
    from riskwatch.storage.ingestions import late_rows
    from riskwatch.storage.records import drift_checks

    settings = ctx.settings
    sources: list[dict[str, Any]] = []
    try:
        pending = pending_units(settings, ctx.db, wait=False)
        error = None
    except Exception as exc:  # an unreachable source is a status, not a crash
        pending, error = [], str(exc).splitlines()[0]
    late = late_rows(ctx.db)
    for name, src in settings.sources.items():
        where = src.path if src.kind == "folder" else f"{src.table} @ {redact(src.url or '')}"
        sources.append(
            {
                "name": name,
                "kind": src.kind,
                "where": str(where),
                "pending": [u.name for u in pending if u.source == name],
                # rows found below a SQL source's look-back window, not read yet (--retry)
                "late_rows": late.get(name, 0),
            }
        )
    version = ctx.version
    checks = drift_checks(ctx.db, 1)
    return {
        "config": str(settings.config_path),
        "workspace": str(ctx.ws.root),
        "sources": sources,
        "source_error": error,
        "dataset": {
            "version": version.version,
            "rows": version.rows,
            "created_at": version.created_at,
        }
        if version
        else None,
        "champion": champion(ctx),
        "last_drift": checks[0] if checks else None,
        "last_run": runs.last_run(ctx.db),
        "next_run": _next_run(settings),
    }


def champion(ctx: RunContext) -> dict[str, Any] | None:
    """The champion: version, kind, since when, and its headline metrics on its evaluation set."""
    from riskwatch.answers.scoring import HEADLINE, scoring
    from riskwatch.storage.models import alias_since, model_row

    answer = scoring(ctx)
    version = answer["model_version"]
    if version is None:
        return None
    row = model_row(ctx.db, version)
    metrics = answer["metrics"] or {}
    return {
        "version": version,
        "kind": row["kind"],
        "created_at": row["created_at"],
        "champion_since": alias_since(ctx.db, "champion"),
        "eval_set": answer["eval_set"],
        "metrics": {k: metrics.get(k) for k in HEADLINE if k in metrics},
    }


def _next_run(settings: Settings) -> dict[str, Any] | None:
    try:
        from riskwatch.pipeline.schedule import installed, next_run

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
            f"champion   v{c['version']} {c['kind']} since {str(c['champion_since'])[:19]}; "
            f"{metrics} on {c['eval_set']}"
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

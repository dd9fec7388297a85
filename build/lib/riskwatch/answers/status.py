"""Is everything fine? Sources and pending data, champion, last drift verdict, last and next run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskwatch.storage import runs

if TYPE_CHECKING:
    from riskwatch.context import RunContext


def status(ctx: RunContext) -> dict[str, Any]:
    """Everything ``status`` shows, as JSON-ready data (reads only; never changes anything)."""
    from riskwatch.answers.health import health
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
    schedule = _next_run(ctx)
    verdict = health(ctx, source_error=error, schedule=schedule["schedule"] if schedule else None)
    return {
        **verdict,
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
        "last_success": runs.last_successful_run(ctx.db),
        "next_run": schedule,
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
        "threshold": row["card"].get("threshold"),
        "warning": metrics.get("warning"),
    }


def _next_run(ctx: RunContext) -> dict[str, Any] | None:
    from riskwatch.answers.health import installed_schedule
    from riskwatch.pipeline.schedule import next_run

    schedule = installed_schedule(ctx)
    if schedule is None:
        return None
    return {"schedule": schedule, "next": next_run(schedule).isoformat(timespec="minutes")}


def render(info: dict[str, Any]) -> str:
    """The one-screen text form: the verdict and its reasons first."""
    out = [info["health"].upper()]
    out += [f"  - {r['message']}" for r in info["reasons"]]
    out += [f"config     {info['config']}", f"workspace  {info['workspace']}", "sources"]
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
        if c.get("warning"):
            out.append(f"           warning: {c['warning']}")
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
        f"last run   #{r['id']} {r['started_at'][:19]} {r['status']}: "
        f"{_short(r['outcome'] or r['message'] or '')}"
        if r
        else "last run   never"
    )
    w = info["last_success"]
    if w and (not r or w["id"] != r["id"]):
        out.append(f"last ok    #{w['id']} {w['started_at'][:19]} {w['status']}")
    n = info["next_run"]
    out.append(
        f"next run   {n['next']} ({n['schedule']})"
        if n
        else "next run   not scheduled (riskwatch schedule install)"
    )
    return "\n".join(out)


def _short(text: str, limit: int = 100) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"

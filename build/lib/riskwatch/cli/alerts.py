"""Commands for alerts: what was sent and what failed, a test message, silences."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from riskwatch.cli.common import JsonOption, app, metadata, print_json, run_context, settings_of

alerts_app = typer.Typer(
    help="What alerts were sent, to which channel, what failed; test the channels; silences.",
    invoke_without_command=True,
)
app.add_typer(alerts_app, name="alerts")


@alerts_app.callback()
def alerts(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="How many notifications to show.")] = 20,
    json_out: JsonOption = False,
) -> None:
    """Open conditions and silences, then the latest notifications with each channel's result."""
    if ctx.invoked_subcommand is not None:
        return
    from riskwatch.storage import alerts as store

    settings = settings_of(ctx)
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    with metadata(settings) as db:
        info = {
            "channels": [
                {"name": t.name, "target": t.shown, "min_severity": t.min_severity}
                for t in settings.alerts.targets()
            ],
            "open": [c for c in store.live_conditions(db) if c["resolved_at"] is None],
            "silences": store.silences(db, active_at=now),
            "notifications": store.notifications(db, limit),
        }
    if json_out:
        print_json(info)
        return
    typer.echo(_render(info))


def _render(info: dict[str, Any]) -> str:
    out = ["channels"]
    out += [
        f"  {c['name']:<14} {c['target']:<34} min severity {c['min_severity']}"
        for c in info["channels"]
    ] or ["  none: add an [alerts] section to the config (see the README, Alerts)"]
    out.append("open conditions")
    out += [
        f"  {c['severity']:<8} {c['key']:<34} since {c['opened_at'][:16]}  {c['message']}"
        for c in info["open"]
    ] or ["  none"]
    for s in info["silences"]:
        out.append(f"  silenced {s['pattern']} until {s['until'][:16]} by {s['by']}: {s['reason']}")
    out.append("notifications (newest first)")
    if not info["notifications"]:
        out.append("  none sent yet")
    for n in info["notifications"]:
        origin = f"run #{n['run_id']}" if n["run_id"] else n["origin"]
        out.append(f"  #{n['id']} {n['at'][:19]} {origin:<9} {n['title']}")
        for d in n["deliveries"]:
            tries = f"{d['attempts']} attempt{'s' if d['attempts'] != 1 else ''}"
            line = (
                f"      {d['channel']:<14} {d['status'].upper() if d['status'] != 'sent' else 'sent':<7}"
                f"{tries:>11} {d['seconds']:6.2f} s  {', '.join(d['events'])}"
            )
            out.append(line + (f"\n        error: {d['error']}" if d["error"] else ""))
    return "\n".join(out)


@alerts_app.command("test")
def test(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Send a test message to every channel and report each result (exit 1 if any failed)."""
    from riskwatch.alerts.notify import send_test
    from riskwatch.answers.health import current
    from riskwatch.errors import ConfigError

    settings = settings_of(ctx)
    if not settings.alerts.enabled:
        raise ConfigError(f"{settings.config_path}: no alert channels configured ([alerts])")
    with run_context(settings) as run:
        results = send_test(run, current(run))
    if json_out:
        print_json(results)
    else:
        for r in results:
            status = "sent" if r["status"] == "sent" else "FAILED"
            extra = f": {r['error']}" if r["error"] else ""
            typer.echo(
                f"{r['channel']:<14} {r['target']:<34} {status} ({r['seconds']:.2f} s){extra}"
            )
    failed = [r["channel"] for r in results if r["status"] != "sent"]
    if failed:
        typer.echo(
            f"riskwatch: error: {len(failed)} of {len(results)} channels failed: "
            f"{', '.join(failed)}",
            err=True,
        )
        raise typer.Exit(1)


def _who() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@alerts_app.command("silence")
def silence(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Condition key kind:subject (a * matches any text).")],
    duration: Annotated[str, typer.Option("--for", help="How long: 30m, 12h, 2d, 1w.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with your user name).")],
) -> None:
    """Mute one condition's messages for a while (its resolved message still goes out)."""
    from riskwatch.config import parse_duration
    from riskwatch.errors import ConfigError
    from riskwatch.storage import alerts as store

    key, reason = key.strip(), " ".join(reason.split())
    if ":" not in key or len(key) > 200:
        raise ConfigError(f"silence {key!r}: a condition key is kind:subject, e.g. drift_open:v3")
    if not reason:
        raise ConfigError("silence --reason: say why (it is recorded with your user name)")
    try:
        span = parse_duration(duration)
    except ValueError as exc:
        raise ConfigError(f"silence --for: {exc}") from None
    now = datetime.now(UTC)
    until = (now + span).isoformat(timespec="microseconds")
    with metadata(settings_of(ctx)) as db, db.transaction():
        s = store.add_silence(
            db,
            pattern=key,
            until=until,
            reason=reason,
            by=_who(),
            at=now.isoformat(timespec="microseconds"),
        )
        open_keys = [c["key"] for c in store.live_conditions(db) if c["resolved_at"] is None]
    typer.echo(f"silenced {key} until {until[:16]} UTC (by {s['by']}: {reason})")
    from fnmatch import fnmatchcase

    if not any(fnmatchcase(k, key) for k in open_keys):
        typer.echo("no open condition matches it now; it applies if one opens")


@alerts_app.command("unsilence")
def unsilence(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The key (or pattern) given to `alerts silence`.")],
) -> None:
    """End the silences on a key before they expire."""
    from riskwatch.errors import NotFound
    from riskwatch.storage import alerts as store

    now = datetime.now(UTC).isoformat(timespec="microseconds")
    with metadata(settings_of(ctx)) as db:
        n = store.lift_silences(db, key.strip(), by=_who(), at=now)
    if not n:
        raise NotFound(f"no active silence on {key!r} (see `riskwatch alerts`)")
    typer.echo(f"unsilenced {key} ({n} silence{'s' if n != 1 else ''} lifted)")

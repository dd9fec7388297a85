"""Commands for automation: run, runs, status, schedule."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from riskwatch.cli.common import (
    JsonOption,
    app,
    metadata,
    print_json,
    run_context,
    settings_of,
    workspace_of,
)
from riskwatch.logs import cron_logging, log
from riskwatch.pipeline.summary import render

schedule_app = typer.Typer(
    help="Install, show, remove or print the cron entry that runs `riskwatch run`.",
    no_args_is_help=True,
)
app.add_typer(schedule_app, name="schedule")


@app.command()
def run(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would happen; change nothing.")
    ] = False,
    json_out: JsonOption = False,
    cron: Annotated[
        bool,
        typer.Option("--cron", help="Quiet mode for cron: log to workspace/logs (rotated)."),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="Write the report before returning (default: report.background)."
        ),
    ] = False,
) -> None:
    """Run the whole process: new data? drift? retrain, gated redeploy, diagnostics, report.

    Exit status: 0 done (also when there was nothing new), 2 bad config, 3 bad data,
    4 a source or database unreachable, 5 model error, 75 another run holds the lock.
    """
    from riskwatch.errors import RiskwatchError
    from riskwatch.pipeline.run import run as run_pipeline

    settings = settings_of(ctx)
    ws = workspace_of(settings)
    if cron:
        cron_logging(ws.logs)
    show = None if (json_out or cron or not sys.stdout.isatty()) else _Progress()
    with run_context(settings) as context:
        try:
            if dry_run:
                result = run_pipeline(context, dry_run=True)
            else:
                with ws.lock():
                    result = run_pipeline(
                        context, trigger="cron" if cron else "cli", progress=show, wait_report=wait
                    )
        except RiskwatchError as exc:
            log.error("run failed: %s", exc)
            raise
        except Exception:
            log.exception("run failed with an unexpected error")
            raise
    if not dry_run:
        from riskwatch.quick import write_stamp

        write_stamp(settings)  # the next tick with this config may take the fast path
    log.info("run %s: %s: %s", result.run_id, result.status, result.outcome)
    for problem in result.problems:
        log.warning("data problem: %s", problem)
    if json_out:
        print_json(result.to_dict())
    elif not cron:
        typer.echo(render(result))
    if result.problems:
        if not json_out:
            for problem in result.problems:
                typer.echo(f"riskwatch: data problem: {problem}", err=True)
        raise typer.Exit(3)


class _Progress:
    """In a terminal: a live spinner with elapsed time while a step runs, then its decision."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(highlight=False)
        self.status: Any = None

    def __call__(self, message: str) -> None:
        if message.endswith(" ..."):
            self.status = self.console.status(f"  {message}")
            self.status.start()
            return
        if self.status is not None:
            self.status.stop()
            self.status = None
        self.console.print(f"  {message}", markup=False)


@app.command("runs")
def runs_cmd(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="How many runs to show.")] = 20,
    json_out: JsonOption = False,
) -> None:
    """Show the run history: time, trigger, decision per step, durations, outcome."""
    from riskwatch.storage.runs import list_runs

    settings = settings_of(ctx)
    with metadata(settings) as db:
        history = list_runs(db, limit)
    if json_out:
        print_json(history)
        return
    if not history:
        typer.echo("no runs yet")
    for r in history:
        total = sum(s["seconds"] or 0 for s in r["steps"])
        typer.echo(
            f"#{r['id']} {r['started_at'][:19]} {r['trigger']:<4} {r['status']:<11} "
            f"{total:6.2f} s  {r['outcome'] or r['message'] or ''}"
        )
        for s in r["steps"]:
            if s["step"] != "check" or len(r["steps"]) > 1:
                typer.echo(f"      {s['step']:<12} {s['seconds'] or 0:6.2f} s  {s['decision']}")


@app.command()
def status(
    ctx: typer.Context,
    json_out: JsonOption = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Print the verdict only and exit 0 (OK), 1 (ATTENTION) or 2 (FAILING), for monitors.",
        ),
    ] = False,
) -> None:
    """The health verdict and its reasons, then sources, dataset, champion, drift, runs, schedule."""
    from riskwatch.answers.health import CHECK_EXIT
    from riskwatch.answers.status import render, status

    with run_context(settings_of(ctx)) as run:
        info = status(run)
    if json_out:
        print_json(info)
    elif check:
        typer.echo(info["health"].upper())
        for reason in info["reasons"]:
            typer.echo(f"  - {reason['message']}")
    else:
        typer.echo(render(info))
    if check:
        raise typer.Exit(CHECK_EXIT[info["health"]])


EveryOption = Annotated[
    str | None,
    typer.Option("--every", help="10m, 2h, 1d or a cron expression (default: schedule.every)."),
]


def _entry(ctx: typer.Context, every: str | None) -> Any:
    from riskwatch.pipeline.schedule import entry_for

    settings = settings_of(ctx)
    return entry_for(
        settings.config_file, workspace_of(settings).logs, every or settings.schedule.every
    )


@schedule_app.command("install")
def schedule_install(ctx: typer.Context, every: EveryOption = None) -> None:
    """Install (or replace) the crontab entry for this config, for the current user."""
    from riskwatch.pipeline.schedule import install

    entry = _entry(ctx, every)
    workspace_of(settings_of(ctx)).logs.mkdir(parents=True, exist_ok=True)
    install(entry)
    typer.echo(f"installed: {entry.line}")


@schedule_app.command("show")
def schedule_show(ctx: typer.Context) -> None:
    """Show the installed crontab entries for this config and the next run."""
    from riskwatch.pipeline.schedule import installed, next_run

    lines = installed(settings_of(ctx).config_file)
    if not lines:
        typer.echo("no schedule installed for this config")
        raise typer.Exit(1)
    for line in lines:
        typer.echo(line)
        typer.echo(f"next run: {next_run(' '.join(line.split()[:5])):%Y-%m-%d %H:%M}")


@schedule_app.command("remove")
def schedule_remove(ctx: typer.Context) -> None:
    """Remove the crontab entries for this config."""
    from riskwatch.pipeline.schedule import remove

    n = remove(settings_of(ctx).config_file)
    typer.echo(f"removed {n} entr{'y' if n == 1 else 'ies'}")


@schedule_app.command("print")
def schedule_print(ctx: typer.Context, every: EveryOption = None) -> None:
    """Print the crontab line, for people who manage cron themselves (the course's cronjob.txt)."""
    typer.echo(_entry(ctx, every).line)

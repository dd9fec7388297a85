"""Commands for models: train, score, deploy, rollback, models, predict."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from riskwatch.cli.common import JsonOption, app, print_json, run_context, settings_of

VersionOption = Annotated[
    int | None,
    typer.Option("--model-version", "-m", min=1, help="Model version (default: see command)."),
]


def _metrics_line(m: dict[str, Any]) -> str:
    keys = ("f1", "roc_auc", "pr_auc", "precision_at_k", "brier", "ece")
    return ", ".join(
        f"{k} {m[k]:.4f}" if isinstance(m.get(k), int | float) else f"{k} undefined"
        for k in keys
        if k in m
    )


@app.command()
def train(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Train a model on the current dataset version and register it (does not deploy)."""
    from riskwatch.registry.lifecycle import train_and_register

    with run_context(settings_of(ctx)) as run, run.ws.lock():
        outcome = train_and_register(run, reason="riskwatch train")
    if json_out:
        print_json(outcome.to_dict())
        return
    if outcome.version is None:
        typer.echo(outcome.why)
        return
    for warning in outcome.warnings:
        typer.echo(f"riskwatch: warning: {warning}", err=True)
    typer.echo(
        f"trained model v{outcome.version} ({outcome.kind}, {outcome.rows} rows, {outcome.seconds:.2f} s)"
    )
    typer.echo(f"why: {outcome.why}")
    typer.echo(f"on {outcome.metrics.get('eval_set')}: {_metrics_line(outcome.metrics)}")


@app.command()
def score(ctx: typer.Context, version: VersionOption = None, json_out: JsonOption = False) -> None:
    """Score a model (default: the champion) on its evaluation set and print the metrics.

    Nothing is stored: status, the API and reports keep showing the figures the loop recorded.
    """
    from riskwatch.errors import NotFound
    from riskwatch.registry.lifecycle import score_model

    with run_context(settings_of(ctx)) as run:
        chosen = version or run.champion_version()
        if chosen is None:
            raise NotFound("no champion yet: pass --version or run `riskwatch run`")
        metrics = score_model(run, chosen, record=False)
    if json_out:
        print_json({"version": chosen, **metrics})
        return
    typer.echo(
        f"model v{chosen} on {metrics.get('eval_set')} ({metrics.get('rows')} rows): {_metrics_line(metrics)}"
    )
    for name, why in (metrics.get("undefined") or {}).items():
        typer.echo(f"  {name}: undefined ({why})")


@app.command()
def deploy(
    ctx: typer.Context,
    version: VersionOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if the gate says no.")
    ] = False,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (required with --force; recorded).")
    ] = "",
    json_out: JsonOption = False,
) -> None:
    """Promote a model (default: the newest) if the gate lets it.

    Exit status 0 when promoted, 1 when the gate keeps the champion (the decision is recorded).
    """
    from riskwatch.registry.lifecycle import deploy as do_deploy

    with run_context(settings_of(ctx)) as run, run.ws.lock():
        decision = do_deploy(run, version, force=force, reason=reason, actor="cli")
    if json_out:
        print_json(decision.to_dict())
    else:
        verb = "promoted" if decision.promoted else "not promoted"
        typer.echo(f"model v{decision.candidate} {verb}: {decision.reason}")
    if not decision.promoted:
        raise typer.Exit(1)


@app.command()
def rollback(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="Why (required; recorded).")],
) -> None:
    """Move the champion back to the previous model (recorded with your reason)."""
    from riskwatch.registry.lifecycle import rollback as do_rollback

    with run_context(settings_of(ctx)) as run, run.ws.lock():
        if not reason.strip():
            from riskwatch.errors import ConfigError

            raise ConfigError("rollback --reason: say why (it is recorded in the alias history)")
        version = do_rollback(run, reason=reason.strip(), actor="cli")
    typer.echo(f"champion is now model v{version}")


@app.command()
def models(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List model versions, aliases and key metrics."""
    from riskwatch.answers.models import list_models

    with run_context(settings_of(ctx)) as run:
        rows = list_models(run)
    if json_out:
        print_json(rows)
        return
    if not rows:
        typer.echo("no models yet")
    for r in rows:
        tags = f" [{', '.join(r['aliases'])}]" if r["aliases"] else ""
        typer.echo(
            f"v{r['version']}{tags} {r['kind']} {r['created_at'][:19]} data v{r['dataset_version']}: "
            f"{_metrics_line(r['metrics'])}"
        )


@app.command()
def predict(
    ctx: typer.Context,
    input_path: Annotated[
        str,
        typer.Option(
            "--input",
            "-i",
            help="CSV or Parquet file of clients (with the dask engine also a glob or s3:// URL).",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Where to write the scores (.csv, .parquet or .json records)."
        ),
    ],
    version: VersionOption = None,
) -> None:
    """Score a file of clients with the champion: id, risk, rank (and value at risk).

    Numeric cells must be finite numbers or missing: ``inf``, ``1e309`` or ``true`` in a numeric
    column stop the command with one line naming the column and row (exit 3).
    """
    import pandas as pd

    from riskwatch.answers.predictions import ranked, scored_rows
    from riskwatch.errors import NotFound
    from riskwatch.storage.files import TABLE_FORMATS, read_chunks, write_table
    from riskwatch.storage.remote import local_path
    from riskwatch.storage.workspace import atomic_path

    fmt = TABLE_FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise typer.BadParameter(
            f"{output.name}: write .csv, .parquet or .json", param_hint="'--output'"
        )
    settings = settings_of(ctx)
    with run_context(settings) as run:
        chosen = version or run.champion_version()
        if chosen is None:
            raise NotFound("no champion yet: run `riskwatch run` or `riskwatch deploy`")
        model = run.model(chosen)
    if settings.engine.kind == "dask":
        from riskwatch.engine.scoring import score_source

        scores = score_source(settings.engine, model, input_path)
    else:
        path = local_path(input_path)
        chunks = read_chunks(path, text_columns=(model.schema.id_column,))
        scores = scored_rows(model, pd.concat(list(chunks), ignore_index=True), where=str(path))
    out = ranked(scores)
    with atomic_path(output) as tmp:
        write_table(out, tmp, fmt)
    typer.echo(f"scored {len(out)} clients with model v{chosen} -> {output}")

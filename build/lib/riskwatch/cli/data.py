"""Commands for configuration and data: init, demo, ingest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskwatch.cli.common import JsonOption, app, print_json, run_context, settings_of
from riskwatch.errors import ConfigError


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path(
        "riskwatch.toml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    demo_setup: Annotated[
        bool,
        typer.Option("--demo", help="The built-in demo (a SQLite source of synthetic clients)."),
    ] = False,
    sample: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Propose the contract from a sample CSV/Parquet file of your data.",
        ),
    ] = None,
) -> None:
    """Write a commented config: for your data (default), the demo, or proposed from a sample."""
    from riskwatch.scaffold import DEMO_CONFIG, OWN_DATA_TEMPLATE, from_proposal
    from riskwatch.storage.workspace import atomic_write_text

    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists (use --force to overwrite)")
    if demo_setup and sample is not None:
        raise ConfigError("init: --demo and --from exclude each other")
    if sample is not None:
        import pandas as pd

        from riskwatch.proposal import propose
        from riskwatch.storage.files import read_chunks

        frame = pd.concat(list(read_chunks(sample)), ignore_index=True).drop(columns=["_rw_row"])
        proposal = propose(frame)
        atomic_write_text(path, from_proposal(proposal, str(sample)))
        typer.echo(
            f"wrote {path}: a proposed contract from {sample} ({len(frame)} rows); review it"
        )
        for key, why in proposal.reasons.items():
            shown = f"{key} = {getattr(proposal, key)!r}" if hasattr(proposal, key) else key
            typer.echo(f"  {shown}: {why}")
        return
    atomic_write_text(path, DEMO_CONFIG if demo_setup else OWN_DATA_TEMPLATE)
    typer.echo(f"wrote {path}" + ("" if demo_setup else ": fill in the [contract] for your data"))


@app.command()
def demo(
    ctx: typer.Context,
    clients: Annotated[int, typer.Option(min=10, help="Clients in the population.")] = 10_000,
    months: Annotated[int, typer.Option(min=1, help="Months of snapshots to generate.")] = 12,
    drift_month: Annotated[
        int | None, typer.Option(help="Month (1-based) from which attrition drifts.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    load_months: Annotated[
        int | None, typer.Option(min=1, help="Make sure the first N months are loaded.")
    ] = None,
    next_month: Annotated[bool, typer.Option("--next", help="Load one more month.")] = False,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the source has data.")
    ] = False,
    source: Annotated[
        str | None, typer.Option(help="SQL source to load (default: the first one).")
    ] = None,
    csv_dir: Annotated[
        Path | None, typer.Option(help="Also write one CSV per month into this folder.")
    ] = None,
) -> None:
    """Generate synthetic clients and load monthly batches into a SQL source."""
    from riskwatch.demo import DemoSpec, generate, month_batches
    from riskwatch.ingest.sources.sql import append_rows, count_distinct

    settings = settings_of(ctx)
    sql = [(n, s) for n, s in settings.sources.items() if s.kind == "sql"]
    if source:
        sql = [(n, s) for n, s in sql if n == source]
    if not sql:
        raise ConfigError(
            f"{settings.config_path}: no sql source {source or ''} to load demo data into"
        )
    name, cfg = sql[0]
    assert cfg.url and cfg.table and cfg.watermark and cfg.url
    loaded = count_distinct(cfg.url, cfg.table, "snapshot_date")
    if if_empty and loaded:
        typer.echo(f"source {name!r} already holds {loaded} month(s); nothing loaded")
        return
    want = loaded + 1 if next_month else (load_months or months)
    spec = DemoSpec(clients=clients, months=max(months, want), drift_month=drift_month, seed=seed)
    batches = month_batches(generate(spec))
    new = batches[loaded:want]
    for batch in new:
        append_rows(cfg.url, cfg.table, batch, watermark=cfg.watermark)
    if csv_dir is not None:
        from riskwatch.storage.workspace import atomic_write_text

        for batch in new:
            stamp = str(batch["snapshot_date"].iloc[0])
            atomic_write_text(csv_dir / f"clients-{stamp}.csv", batch.to_csv(index=False))
    typer.echo(
        f"loaded {len(new)} month(s), {sum(len(b) for b in new)} rows into source {name!r} "
        f"({loaded + len(new)} month(s) in total)"
    )


@app.command()
def ingest(
    ctx: typer.Context,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Only say whether there is new data: exit 0 if there is, 1 if not.",
        ),
    ] = False,
    retry: Annotated[
        bool,
        typer.Option(
            "--retry",
            help="Look again at every rejected file and read SQL tables whole (late rows).",
        ),
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Ingest new data from every source into a new dataset version."""
    from riskwatch.ingest import job

    settings = settings_of(ctx)
    with run_context(settings) as run:
        if check:
            units = job.pending_units(settings, run.db, wait=False, retry=retry)
            if json_out:
                print_json({"new_data": bool(units), "units": [u.__dict__ for u in units]})
            else:
                for unit in units:
                    note = f" (still changing; read in {unit.settle_in:.1f} s)" * (
                        unit.settle_in > 0
                    )
                    typer.echo(f"new: {unit.source}: {unit.name}{note}")
                typer.echo("new data" if units else "nothing new")
            raise typer.Exit(0 if units else 1)
        with run.ws.lock():
            report = job.ingest(run, retry=retry)
    if json_out:
        print_json(report.to_dict())
        return
    typer.echo(job.summary(report))
    if report.rejected:
        raise typer.Exit(3)

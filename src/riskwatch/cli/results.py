"""Commands for results: drift, diagnose, report."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from riskwatch.cli.common import JsonOption, app, print_json, run_context, settings_of


@app.command()
def drift(
    ctx: typer.Context,
    input_path: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            help="A CSV/Parquet batch (default: the newest ingested rows); with the dask engine "
            "also a glob or s3:// URL, tested on a uniform sample of [engine] sample_rows rows.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Check the champion for drift on a batch; print the verdict and the top drifting features.

    With --input the check is ad hoc: it is printed and never recorded, so status, the dashboard,
    the API and reports keep showing the production checks.
    """
    import pandas as pd

    from riskwatch.errors import DataError, NotFound
    from riskwatch.monitoring.check import check_batch
    from riskwatch.storage.files import read_chunks

    settings = settings_of(ctx)
    sampled: dict[str, object] | None = None
    with run_context(settings) as run:
        model = run.champion()
        if model is None:
            raise NotFound("no champion to check: run `riskwatch run` first")
        schema = model.schema
        if input_path is not None and settings.engine.kind == "dask":
            from riskwatch.engine.sampling import sample_source
            from riskwatch.storage.remote import typed_text

            keep = settings.engine.sample_rows
            frame, total = sample_source(settings.engine, input_path, keep=keep)
            frame = typed_text(frame, text_columns=(schema.id_column,))
            sampled = {"engine": "dask", "rows": total, "tested": len(frame)}
        elif input_path is not None:
            from riskwatch.storage.remote import local_path

            chunks = read_chunks(local_path(input_path), text_columns=(schema.id_column,))
            frame = pd.concat(list(chunks), ignore_index=True)
        if input_path is not None:
            missing = [c for c in schema.features if c not in frame.columns]
            if missing:
                raise DataError(f"{input_path}: missing column(s) {', '.join(missing)}")
            if schema.target_column in frame.columns:
                from riskwatch.ingest.rules import normalize_labels

                labels = normalize_labels(frame[schema.target_column], schema)[0]
                frame[schema.target_column] = labels
            name = str(input_path)
        else:
            version = run.version
            if version is None:
                raise NotFound("no data ingested yet")
            frame = run.new_rows(version.version - 1 if version.version > 1 else None).frame
            name = f"dataset v{version.version} newest rows"
        check = check_batch(
            run, batch=frame, batch_name=name, model=model, record=input_path is None
        )
    out = check.to_dict()
    if sampled:
        out["input"] = sampled
    if json_out:
        print_json(out)
        return
    typer.echo(f"{check.verdict} (model v{check.model_version} on {name})")
    if sampled and sampled["tested"] != sampled["rows"]:
        typer.echo(f"  tested on a uniform sample of {sampled['tested']} of {sampled['rows']} rows")
    for reason in check.reasons:
        typer.echo(f"  - {reason}")
    cols = sorted(out.get("data", {}).get("columns", []), key=lambda c: -(c.get("psi") or 0))[:5]
    for c in cols:
        flag = "DRIFT" if c["drifted"] else "ok"
        stat = "n/a" if c["statistic"] is None else f"{c['statistic']:.3g}"
        typer.echo(f"  {c['column']:<24} {c['test']:<17} {stat:>8}  PSI {c['psi'] or 0:.3f} {flag}")


@app.command()
def diagnose(
    ctx: typer.Context,
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not ask the package index.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Summary statistics, missing data, step timings and dependency status (stored for the API)."""
    from riskwatch.monitoring.diagnostics import run_diagnostics

    with run_context(settings_of(ctx)) as run:
        out = run_diagnostics(run, network=not offline)
    if json_out:
        print_json(out)
        return
    _print_diagnostics(out)


def _print_diagnostics(out: dict[str, Any]) -> None:
    summary = out.get("summary") or {}
    typer.echo(f"dataset v{out.get('dataset_version')}: {summary.get('rows', 0)} rows")
    for col, s in (summary.get("numeric") or {}).items():
        typer.echo(
            f"  {col:<24} mean {s['mean']:.4g}  median {s['median']:.4g}  std {s['std'] or 0:.4g}"
        )
    label = summary.get("label") or {}
    if label:
        typer.echo(
            f"  label {label['column']}: rate {label['rate'] or 0:.3f} ({label['positives']}/{label['labelled']})"
        )
    worst = sorted((out.get("missing") or {}).items(), key=lambda kv: -kv[1])[:5]
    typer.echo("missing: " + (", ".join(f"{c} {v:.1%}" for c, v in worst if v) or "none"))
    typer.echo("timings (latest, trend):")
    for step, t in (out.get("timings") or {}).items():
        trend = f"x{t['trend_ratio']:.2f}" if t.get("trend_ratio") else "-"
        typer.echo(f"  {step:<12} {t['latest_s']:.3f} s  {trend}")
    deps = out.get("dependencies") or []
    outdated = [d for d in deps if d["outdated"]]
    typer.echo(f"dependencies: {len(deps)} packages, {len(outdated)} outdated")
    for d in outdated:
        typer.echo(f"  {d['package']} {d['installed']} -> {d['latest']}")
    if deps and str(deps[0]["latest"]).startswith("unknown"):
        typer.echo(f"  latest versions {deps[0]['latest']}")


@app.command()
def report(
    ctx: typer.Context,
    json_out: JsonOption = False,
    for_version: Annotated[
        int | None,
        typer.Option(
            "--for-version",
            min=1,
            help="Write the report a run left for this dataset version (waits for the run's "
            "lock; does nothing if it is already written).",
        ),
    ] = None,
    run_id: Annotated[
        int | None, typer.Option("--run-id", min=1, help="The run it belongs to.")
    ] = None,
) -> None:
    """Write a new HTML + PDF report (with PNGs) into the workspace; earlier ones are kept."""
    from riskwatch.errors import require
    from riskwatch.pipeline.run import write_report
    from riskwatch.reporting.report import build_report
    from riskwatch.storage import runs
    from riskwatch.storage.metadata import now

    require("matplotlib", "reports", "riskwatch report")
    with run_context(settings_of(ctx)) as run:
        if for_version is not None:
            with run.ws.lock(wait=True):
                if runs.get_marker(run.db, runs.REPORTED) == for_version:
                    typer.echo(f"the report of dataset v{for_version} is already written")
                    return
                started = now()
                paths = write_report(run, version=for_version, run_id=run_id)
                runs.record_step(
                    run.db,
                    run_id,
                    "report",
                    started,
                    0.0,
                    f"written to {paths.folder} (background)",
                )
        else:
            paths = build_report(run)
    if json_out:
        print_json(
            {
                "folder": str(paths.folder),
                "html": str(paths.html),
                "pdf": str(paths.pdf) if paths.pdf else None,
                "pngs": [str(p) for p in paths.pngs],
            }
        )
        return
    typer.echo(f"report: {paths.html}")
    typer.echo(
        f"pdf:    {paths.pdf}"
        if paths.pdf
        else "pdf:    not written (no PDF engine: pip install weasyprint)"
    )

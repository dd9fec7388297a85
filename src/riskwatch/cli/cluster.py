"""``riskwatch cluster check``: can the configured Dask cluster run riskwatch's work?"""

from __future__ import annotations

from typing import Annotated

import typer

from riskwatch.cli.common import JsonOption, app, print_json, settings_of

cluster_app = typer.Typer(help="The Dask cluster of [engine] kind = 'dask'.")
app.add_typer(cluster_app, name="cluster")


@cluster_app.command("check")
def check(
    ctx: typer.Context,
    address: Annotated[
        str | None, typer.Option("--address", help="tcp://host:8786 (default: [engine] address).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Connect, list workers with their threads and memory, and compare every worker's versions
    of riskwatch, scikit-learn, pandas... with this process's (exit 2 when they differ, 4 when the
    scheduler cannot be reached)."""
    from riskwatch.config import EngineSettings
    from riskwatch.engine.cluster import check as inspect
    from riskwatch.engine.cluster import connect
    from riskwatch.errors import ConfigError

    if address:  # no config needed
        engine = EngineSettings(kind="dask", address=address, storage_options={})
    else:
        engine = settings_of(ctx).engine
    if engine.kind != "dask":
        raise ConfigError("no cluster configured: set [engine] kind = 'dask' and its address")
    client = connect(engine)
    try:
        info = inspect(client)
    finally:
        client.close()
    if json_out:
        print_json(info.to_dict())
    else:
        gib = sum(w.memory_limit for w in info.workers) / 2**30
        typer.echo(
            f"scheduler {info.scheduler}: {len(info.workers)} worker(s), "
            f"{info.threads} thread(s), {gib:.1f} GiB memory limit"
        )
        for w in info.workers:
            typer.echo(
                f"  {w.name:<24} {w.address:<28} {w.threads} thread(s) "
                f"{w.memory_limit / 2**30:.1f} GiB"
            )
        typer.echo("versions " + ", ".join(f"{k} {v}" for k, v in info.versions.items()))
        for line in info.mismatches:
            typer.echo(f"  differs: {line}")
    if info.mismatches:
        raise ConfigError(f"dask workers differ from this process: {info.mismatches[0]}")
    if not info.workers:
        from riskwatch.errors import SourceUnavailable

        raise SourceUnavailable(f"dask scheduler {info.scheduler}: no workers")

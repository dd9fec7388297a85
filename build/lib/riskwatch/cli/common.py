"""What every command shares: the app, the global options, settings and output helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from riskwatch.config import Settings, load_settings
from riskwatch.storage.db import Database
from riskwatch.storage.workspace import Workspace

if TYPE_CHECKING:
    from riskwatch.context import RunContext

app = typer.Typer(
    name="riskwatch",
    help="Dynamic risk assessment: which corporate clients are about to leave, and why.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"max_content_width": 110, "help_option_names": ["-h", "--help"]},
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $RISKWATCH_CONFIG, else ./riskwatch.toml).",
        envvar="RISKWATCH_CONFIG",
        show_envvar=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _version(value: bool) -> None:
    if value:
        from riskwatch import __version__

        typer.echo(f"riskwatch {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    config: ConfigOption = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what riskwatch does to stderr.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Dynamic risk assessment: which corporate clients are about to leave, and why."""
    if verbose:
        import logging

        from riskwatch.logs import log

        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("riskwatch: %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    ctx.obj = {"config": config}


def settings_of(ctx: typer.Context) -> Settings:
    """Load (once per process) the settings named by the global ``--config``."""
    obj = ctx.find_root().obj or {}
    if "settings" not in obj:
        obj["settings"] = load_settings(obj.get("config"))
        ctx.find_root().obj = obj
    settings: Settings = obj["settings"]
    return settings


def workspace_of(settings: Settings) -> Workspace:
    """The settings' workspace."""
    return Workspace(settings.workspace_path)


@contextmanager
def metadata(settings: Settings) -> Iterator[Database]:
    """An open metadata database, closed afterwards."""
    from riskwatch.storage.metadata import open_metadata

    settings.workspace_path.mkdir(parents=True, exist_ok=True)
    db = open_metadata(settings.metadata_url)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def run_context(settings: Settings) -> Iterator[RunContext]:
    """A :class:`RunContext` on an open metadata database, closed afterwards."""
    from riskwatch.context import RunContext

    with metadata(settings) as db:
        yield RunContext(settings, db, workspace_of(settings))


def print_json(data: Any) -> None:
    """Print JSON (dates and paths as text)."""
    typer.echo(json.dumps(data, indent=2, default=str, sort_keys=False))

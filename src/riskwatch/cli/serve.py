"""Commands for people and services: serve (API + dashboard)."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from riskwatch.cli.common import app, settings_of
from riskwatch.errors import ConfigError


def check_bind(host: str, api_key: str | None) -> str | None:
    """Refuse to expose the API beyond loopback without a key; return a notice or None.

    Raises:
        ConfigError: ``host`` is not a loopback address and no API key is configured.
    """
    if api_key:
        return None
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            f"api.host {host!r}: refusing to listen beyond loopback without an API key "
            "(set api.api_key or RISKWATCH_API_KEY)"
        )
    return f"no API key configured: serving on {host} only"


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to bind (default: api.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: api.port).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Start the REST API and the dashboard."""
    import uvicorn

    from riskwatch.api import create_app

    settings = settings_of(ctx)
    bind = host or settings.api.host
    notice = check_bind(bind, settings.api.api_key)
    if notice:
        typer.echo(notice, err=True)
    application = create_app(settings)
    typer.echo(f"riskwatch API on http://{bind}:{port or settings.api.port}/", err=True)
    uvicorn.run(
        application,
        host=bind,
        port=port or settings.api.port,
        log_level=log_level,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=30,
    )

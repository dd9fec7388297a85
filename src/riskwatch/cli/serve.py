"""Commands for people and services: serve (API + dashboard)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

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


def log_to_stderr(level: str) -> None:
    """Send riskwatch's log records at ``level`` and above to stderr, one line each.

    The CLI otherwise keeps the ``riskwatch`` logger quiet (a NullHandler); a server has no
    other place to say that it refused a model or hit a bug, so ``serve`` opts in.
    """
    import logging
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s riskwatch %(levelname)s: %(message)s"))
    logger = logging.getLogger("riskwatch")
    logger.addHandler(handler)
    logger.setLevel(getattr(logging, level.upper(), logging.WARNING))


def warm_up(state: Any) -> None:
    """Load and verify the champion (and its fast path) in the background as the server starts:
    a refused artifact is reported at start-up, and the port opens without waiting for it."""
    import threading

    def load() -> None:
        model = state.champion()
        if model is not None:
            model.fast  # noqa: B018  (compiles the numpy scoring path once)

    threading.Thread(target=load, name="riskwatch-warm-up", daemon=True).start()


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to bind (default: api.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: api.port).")] = None,
    log_level: Annotated[
        str, typer.Option(help="Log level of the server and of riskwatch (stderr).")
    ] = "warning",
    trust_proxy: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated addresses of reverse proxies whose X-Forwarded-Proto and "
            "X-Forwarded-For are believed (HTTPS detection for the Secure cookie, client address "
            "for the wrong-key lockout). Default: none; the request's own scheme and peer count."
        ),
    ] = None,
) -> None:
    """Start the REST API and the dashboard.

    The champion is loaded as the server starts. If its artifact fails its checksum, the
    server starts anyway with the newest earlier version that verifies (the ``previous`` alias
    first), says so loudly on stderr and in ``/health`` and ``/ready``, and retries the champion
    with backoff; it serves the champion as soon as it verifies.
    """
    from riskwatch.errors import require

    require("fastapi", "api", "riskwatch serve")
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # before OpenMP loads: every thread, one thread
    import uvicorn

    from riskwatch.api import create_app

    settings = settings_of(ctx)
    bind = host or settings.api.host
    notice = check_bind(bind, settings.api.api_key)
    if notice:
        typer.echo(notice, err=True)
    log_to_stderr(log_level)
    application = create_app(settings)
    warm_up(application.state.rw)
    typer.echo(f"riskwatch API on http://{bind}:{port or settings.api.port}/", err=True)
    uvicorn.run(
        application,
        host=bind,
        port=port or settings.api.port,
        log_level=log_level,
        access_log=False,
        server_header=False,
        proxy_headers=trust_proxy is not None,
        forwarded_allow_ips=trust_proxy,
        timeout_keep_alive=30,
    )


@app.command("api-report")
def api_report(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(help="Base URL (default: http://api.host:api.port).")
    ] = None,
) -> None:
    """Call every endpoint of a running server and save the combined answers in the workspace."""
    import json
    import urllib.error
    import urllib.request
    from datetime import UTC, datetime

    from riskwatch.cli.common import workspace_of
    from riskwatch.errors import SourceUnavailable
    from riskwatch.storage.workspace import atomic_write_text

    settings = settings_of(ctx)
    base = (url or f"http://{settings.api.host}:{settings.api.port}").rstrip("/")
    headers = {"X-API-Key": settings.api.api_key} if settings.api.api_key else {}
    answers: dict[str, object] = {"base_url": base, "at": datetime.now(UTC).isoformat()}
    for path in (
        "/health",
        "/ready",
        "/scoring",
        "/summarystats",
        "/diagnostics",
        "/risk?top=20",
        "/models",
        "/drift",
    ):
        request = urllib.request.Request(base + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                answers[path] = {"status": resp.status, "body": json.load(resp)}
        except urllib.error.HTTPError as exc:
            answers[path] = {"status": exc.code, "body": json.loads(exc.read() or b"null")}
        except (urllib.error.URLError, OSError) as exc:
            raise SourceUnavailable(f"{base}: the riskwatch API is not reachable ({exc})") from None
    folder = workspace_of(settings).reports / "api"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"apireturns-{stamp}.json"
    atomic_write_text(target, json.dumps(answers, indent=2))
    typer.echo(f"saved {len(answers) - 2} answers to {target}")
    failed = [
        f"{path} {answer['status']}"
        for path, answer in answers.items()
        if isinstance(answer, dict) and not 200 <= int(answer.get("status", 0)) < 300
    ]
    if failed:
        hint = (
            " (is api.api_key / RISKWATCH_API_KEY the server's key?)"
            if any(f.endswith(" 401") for f in failed)
            else ""
        )
        typer.echo(f"riskwatch: not every endpoint answered: {', '.join(failed)}{hint}", err=True)
        raise typer.Exit(1)

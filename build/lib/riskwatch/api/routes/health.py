"""Liveness (``/health``, no key needed), readiness and Prometheus metrics."""

from __future__ import annotations

import time
import weakref
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from riskwatch import __version__
from riskwatch.api.deps import State
from riskwatch.api.schemas import Health, Ready

router = APIRouter(tags=["health"])
secured = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(state: State) -> dict[str, Any]:
    """Liveness (always 200 while the process answers) and the model being served.

    ``status`` is ``degraded`` when the server does not serve the champion; ``reason`` says why.
    """
    serving = state.serving()
    status = "ok" if serving["current"] and serving["serving_version"] is not None else "degraded"
    return {"status": status, "version": __version__, **serving}


@secured.get(
    "/ready",
    response_model=Ready,
    responses={503: {"model": Ready}},
)
def ready(state: State) -> Any:
    """Readiness: the champion's artifact loads and verifies and it is the model being served.

    503 (with ``reason``) when no model serves or an older one serves because the champion's
    artifact is refused.
    """
    serving = state.serving()
    ok = serving["current"] and serving["serving_version"] is not None
    body = {"ready": ok, "model_version": serving["serving_version"], **serving}
    return body if ok else JSONResponse(body, status_code=503)


@secured.get("/metrics", response_class=PlainTextResponse)
def metrics(state: State, request: Request) -> str:
    """Prometheus text format: request counts and latency sums per route, the model served,
    and the loop's gauges (health, last successful run, open conditions, champion, rows)."""
    snap = state.snapshot()
    lines = [
        "# HELP riskwatch_requests_total Requests by route, method and status.",
        "# TYPE riskwatch_requests_total counter",
    ]
    for (route, method, status), (count, _) in sorted(snap["requests"].items()):
        lines.append(
            f'riskwatch_requests_total{{route="{route}",method="{method}",status="{status}"}} {int(count)}'
        )
    lines += [
        "# HELP riskwatch_request_seconds_sum Total seconds spent per route.",
        "# TYPE riskwatch_request_seconds_sum counter",
    ]
    for (route, method, status), (_, seconds) in sorted(snap["requests"].items()):
        lines.append(
            f'riskwatch_request_seconds_sum{{route="{route}",method="{method}",status="{status}"}} {seconds:.6f}'
        )
    lines += [
        "# HELP riskwatch_model_version Version of the model being served (0: none).",
        "# TYPE riskwatch_model_version gauge",
        f"riskwatch_model_version {snap['serving_version'] or 0}",
        "# HELP riskwatch_model_current 1 when the model served is the registry's champion.",
        "# TYPE riskwatch_model_current gauge",
        f"riskwatch_model_current {int(snap['current'] and snap['serving_version'] is not None)}",
        "# HELP riskwatch_uptime_seconds Seconds since the server started.",
        "# TYPE riskwatch_uptime_seconds gauge",
        f"riskwatch_uptime_seconds {time.time() - state.started:.1f}",
    ]
    lines += loop_metrics(state, getattr(request.app.state, "watchdog", None))
    return "\n".join(lines) + "\n"


_HEALTH_CACHE: weakref.WeakKeyDictionary[Any, tuple[float, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)
HEALTH_SECONDS = 10.0  # a scrape re-reads the verdict at most this often (it runs `crontab -l`)


def _verdict(state: Any) -> dict[str, Any]:
    from riskwatch.answers.health import current

    cached = _HEALTH_CACHE.get(state)
    if cached is None or time.monotonic() - cached[0] > HEALTH_SECONDS:
        cached = (time.monotonic(), current(state))
        _HEALTH_CACHE[state] = cached
    return cached[1]


def loop_metrics(state: Any, watchdog: Any) -> list[str]:
    """Gauges for the world outside: Prometheus/Alertmanager rules in examples/."""
    from datetime import UTC, datetime

    from riskwatch.answers.health import CHECK_EXIT, KINDS
    from riskwatch.storage.ingestions import row_totals
    from riskwatch.storage.models import champion_created_at
    from riskwatch.storage.runs import last_successful_run

    verdict = _verdict(state)
    good = last_successful_run(state.db)
    created = champion_created_at(state.db)
    champion = state.champion_version() if created else None
    kinds = {k: 0 for k in KINDS}
    for r in verdict["reasons"]:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    rows = row_totals(state.db)

    def stamp(text: str | None) -> float:
        return datetime.fromisoformat(text).timestamp() if text else 0.0

    out = [
        "# HELP riskwatch_health Health verdict: 0 OK, 1 ATTENTION, 2 FAILING (status --check).",
        "# TYPE riskwatch_health gauge",
        f"riskwatch_health {CHECK_EXIT[verdict['health']]}",
        "# HELP riskwatch_open_conditions Reasons of the health verdict by kind.",
        "# TYPE riskwatch_open_conditions gauge",
        *(f'riskwatch_open_conditions{{kind="{k}"}} {n}' for k, n in sorted(kinds.items())),
        "# HELP riskwatch_last_successful_run_timestamp_seconds Start of the last run that "
        "finished well (0: none).",
        "# TYPE riskwatch_last_successful_run_timestamp_seconds gauge",
        f"riskwatch_last_successful_run_timestamp_seconds {stamp(good['started_at'] if good else None):.0f}",
        "# HELP riskwatch_champion_version Version of the registry's champion (0: none).",
        "# TYPE riskwatch_champion_version gauge",
        f"riskwatch_champion_version {champion or 0}",
        "# HELP riskwatch_champion_age_seconds Seconds since the champion was trained (0: none).",
        "# TYPE riskwatch_champion_age_seconds gauge",
        f"riskwatch_champion_age_seconds "
        f"{(datetime.now(UTC).timestamp() - stamp(created)) if created else 0:.0f}",
        "# HELP riskwatch_ingested_rows_total Rows by outcome since the workspace began.",
        "# TYPE riskwatch_ingested_rows_total counter",
        *(
            f'riskwatch_ingested_rows_total{{outcome="{k}"}} {rows[k]}'
            for k in ("accepted", "quarantined", "rejected")
        ),
        "# HELP riskwatch_rejected_units_total Files or table reads rejected whole.",
        "# TYPE riskwatch_rejected_units_total counter",
        f"riskwatch_rejected_units_total {rows['units_rejected']}",
    ]
    if watchdog is not None:
        out += [
            "# HELP riskwatch_watchdog_checks_total Alert watchdog evaluations in this process.",
            "# TYPE riskwatch_watchdog_checks_total counter",
            f"riskwatch_watchdog_checks_total {watchdog.checks}",
            "# HELP riskwatch_watchdog_last_check_timestamp_seconds Time of the last evaluation.",
            "# TYPE riskwatch_watchdog_last_check_timestamp_seconds gauge",
            f"riskwatch_watchdog_last_check_timestamp_seconds "
            f"{watchdog.last_check.timestamp() if watchdog.last_check else 0:.0f}",
        ]
    return out

"""Liveness (``/health``, no key needed), readiness and Prometheus metrics."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
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
def metrics(state: State) -> str:
    """Prometheus text format: request counts and latency sums per route, the model served."""
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
    return "\n".join(lines) + "\n"

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
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok", "version": __version__}


@secured.get(
    "/ready",
    response_model=Ready,
    response_model_exclude_none=True,
    responses={503: {"model": Ready}},
)
def ready(state: State) -> Any:
    """Readiness: a champion exists and its artifact loads and verifies."""
    model = state.champion()
    if model is None:
        return JSONResponse(
            {"ready": False, "reason": "no loadable champion model"}, status_code=503
        )
    return {"ready": True, "model_version": model.version}


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
        "# HELP riskwatch_model_version Version of the champion being served (0: none).",
        "# TYPE riskwatch_model_version gauge",
        f"riskwatch_model_version {snap['model'] or 0}",
        "# HELP riskwatch_uptime_seconds Seconds since the server started.",
        "# TYPE riskwatch_uptime_seconds gauge",
        f"riskwatch_uptime_seconds {time.time() - state.started:.1f}",
    ]
    return "\n".join(lines) + "\n"

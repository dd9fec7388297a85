"""The FastAPI application factory: middleware, error handling, routers."""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from riskwatch import __version__
from riskwatch.api.state import ApiState
from riskwatch.errors import RiskwatchError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from riskwatch.config import Settings

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem response (no stack traces, no server paths)."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def create_app(settings: Settings) -> FastAPI:
    """Build the API and dashboard for ``settings`` (no work at import time)."""
    from riskwatch.api.auth import require_key
    from riskwatch.api.dashboard import router as dashboard
    from riskwatch.api.routes import health, predict, results

    state = ApiState(settings)
    app = FastAPI(
        lifespan=_lifespan(settings),
        title="riskwatch",
        version=__version__,
        description="Attrition risk of corporate clients: predictions, scores, statistics, "
        "diagnostics and the ranked call list.",
        debug=False,
    )
    app.state.rw = state
    secured = [Depends(require_key)]
    app.include_router(health.router)
    app.include_router(health.secured, dependencies=secured)
    app.include_router(predict.router, dependencies=secured)
    app.include_router(results.router, dependencies=secured)
    app.include_router(dashboard)  # checks the key itself and offers a login form
    _handlers(app)
    app.openapi = lambda: openapi_document(app, state)  # type: ignore[method-assign]
    app.add_middleware(GuardMiddleware, state=state, max_body=settings.api.max_body_bytes)
    return app


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start the alerts watchdog with the server (when alerts are configured); stop it after."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        watchdog = None
        if settings.alerts.enabled:
            from riskwatch.pipeline.alerting import Watchdog

            watchdog = Watchdog(settings).start()
        app.state.watchdog = watchdog
        try:
            yield
        finally:
            if watchdog is not None:
                watchdog.stop()

    return lifespan


def openapi_document(app: FastAPI, state: ApiState) -> dict[str, Any]:
    """The OpenAPI document, with ``ClientRecord`` built from the champion being served."""
    from fastapi.openapi.utils import get_openapi

    base = getattr(app, "_rw_openapi_base", None)
    if base is None:
        base = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        app._rw_openapi_base = base  # type: ignore[attr-defined]
    doc = copy.deepcopy(base)
    record = state.record_model().model_json_schema(
        by_alias=True, ref_template="#/components/schemas/{model}"
    )
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    components.update(record.pop("$defs", {}))
    components["ClientRecord"] = record
    request = components.get("PredictionRequest", {})
    if "records" in request.get("properties", {}):
        request["properties"]["records"]["items"] = {"$ref": "#/components/schemas/ClientRecord"}
    return doc


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "?", "message": "invalid request"}
        detail = f"{first['field']}: {first['message']}"
        return problem(422, "Invalid request", detail, errors=errors[:50])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {401: "Unauthorized", 404: "Not found", 405: "Method not allowed"}.get(
            exc.status_code, "Error"
        )
        resp = problem(exc.status_code, title, str(exc.detail))
        if exc.status_code == 401:
            resp.headers["WWW-Authenticate"] = "ApiKey"
        return resp

    @app.exception_handler(RiskwatchError)
    async def user_error(_: Request, exc: RiskwatchError) -> JSONResponse:
        return problem(exc.http_status, type(exc).__name__, str(exc))

    @app.exception_handler(Exception)
    async def bug(_: Request, exc: Exception) -> JSONResponse:
        import logging

        logging.getLogger("riskwatch.api").exception("unhandled error")
        return problem(500, "Internal error", "the server hit an unexpected error; see its log")


class GuardMiddleware:
    """Request size limit and per-route counters, as a plain ASGI middleware (cheap)."""

    def __init__(self, app: ASGIApp, *, state: ApiState, max_body: int) -> None:
        self.app = app
        self.state = state
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            resp = problem(413, "Payload too large", f"request body over {self.max_body} bytes")
            await resp(scope, receive, send)
            self._count(scope, 413, started)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise _TooLarge
            return message

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, limited, sending)
        except _TooLarge:
            resp = problem(413, "Payload too large", f"request body over {self.max_body} bytes")
            await resp(scope, receive, send)
            status["code"] = 413
        self._count(scope, status["code"], started)

    def _count(self, scope: Scope, code: int, started: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        self.state.observe(path, scope.get("method", "?"), code, time.perf_counter() - started)


class _TooLarge(Exception):
    pass

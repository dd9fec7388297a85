"""The FastAPI application factory: middleware, error handling, routers."""

from __future__ import annotations

import hmac
import time
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
KEY_HEADER = "X-API-Key"
KEY_COOKIE = "riskwatch_key"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem response (no stack traces, no server paths)."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def create_app(settings: Settings) -> FastAPI:
    """Build the API and dashboard for ``settings`` (no work at import time)."""
    from riskwatch.api.dashboard import router as dashboard
    from riskwatch.api.routes import data, health, predict

    state = ApiState(settings)
    app = FastAPI(
        title="riskwatch",
        version=__version__,
        description="Attrition risk of corporate clients: predictions, scores, statistics, "
        "diagnostics and the ranked call list.",
        debug=False,
    )
    app.state.rw = state
    secured = [Depends(_require_key(settings.api.api_key))]
    app.include_router(health.router)
    app.include_router(health.secured, dependencies=secured)
    app.include_router(
        predict.build(state.contract_schema(), settings.api.max_rows_per_request),
        dependencies=secured,
    )
    app.include_router(data.router, dependencies=secured)
    app.include_router(dashboard)  # checks the key itself and offers a login form
    _handlers(app)
    app.add_middleware(
        GuardMiddleware,
        state=state,
        max_body=settings.api.max_body_bytes,
    )
    return app


def key_ok(request: Request, expected: str | None) -> bool:
    """Does the request carry the API key (header, Bearer token or dashboard cookie)?"""
    if expected is None:
        return True
    bearer = request.headers.get("authorization", "")
    given = (
        request.headers.get(KEY_HEADER)
        or (bearer[7:] if bearer.lower().startswith("bearer ") else "")
        or request.cookies.get(KEY_COOKIE, "")
    )
    return hmac.compare_digest(given.encode(), expected.encode())


def _require_key(expected: str | None) -> Any:
    async def check(request: Request) -> None:
        if not key_ok(request, expected):
            raise StarletteHTTPException(401, f"missing or wrong {KEY_HEADER} header")

    return check


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

"""The FastAPI application factory: middleware, error handling, routers.

Every response passes :class:`GuardMiddleware`: bodies over ``api.max_body_bytes`` get 413 whether
they declare a length or arrive chunked; security headers are added (a Content-Security-Policy
with no script, ``frame-ancestors 'none'``, ``X-Frame-Options: DENY``, ``nosniff``,
``Referrer-Policy``, ``Cache-Control: no-store``, HSTS over HTTPS); an unhandled error becomes a
500 problem whose traceback goes to the log only.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from riskwatch import __version__
from riskwatch.api.state import ApiState
from riskwatch.errors import RiskwatchError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from riskwatch.config import Settings

log = logging.getLogger("riskwatch.api")
PROBLEM = "application/problem+json"
SWAGGER_CDN = "https://cdn.jsdelivr.net"
HSTS = (b"strict-transport-security", b"max-age=31536000")


def security_headers() -> list[tuple[bytes, bytes]]:
    """Headers added to every response that does not set its own (``/docs`` sets its own CSP).

    The CSP allows no script at all and, as style, only the dashboard's one stylesheet (by hash);
    no page may frame ours; answers are never cached.
    """
    from riskwatch.api.dashboard import STYLE_SOURCE

    csp = (
        f"default-src 'none'; style-src {STYLE_SOURCE}; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"no-store"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    ]


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem response (no stack traces, no server paths)."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def create_app(settings: Settings, *, session_secret: bytes | None = None) -> FastAPI:
    """Build the API and dashboard for ``settings`` (no work at import time).

    Args:
        settings: the validated settings.
        session_secret: the HMAC key of dashboard sessions (default: random per process).
    """
    from riskwatch.api.auth import Auth, require_key
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
        docs_url=None,
        redoc_url=None,
    )
    app.state.rw = state
    app.state.auth = Auth(settings.api.api_key, session_secret)
    secured = [Depends(require_key)]
    app.include_router(health.router)
    app.include_router(health.secured, dependencies=secured)
    app.include_router(predict.router, dependencies=secured)
    app.include_router(results.router, dependencies=secured)
    app.include_router(dashboard)  # checks the key itself and offers a login form
    app.add_api_route("/docs", swagger_page, include_in_schema=False)
    _handlers(app)
    app.openapi = lambda: openapi_document(app, state)  # type: ignore[method-assign]
    app.add_middleware(GuardMiddleware, state=state, max_body=settings.api.max_body_bytes)
    return app


def swagger_page() -> HTMLResponse:
    """``/docs``: Swagger UI (from its CDN) under a CSP that allows its one inline script only."""
    from fastapi.openapi.docs import get_swagger_ui_html

    page = get_swagger_ui_html(openapi_url="/openapi.json", title="riskwatch API")
    body = bytes(page.body)
    inline = re.findall(rb"<script>(.*?)</script>", body, flags=re.S)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(code).digest()).decode()}'" for code in inline
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src {SWAGGER_CDN} {hashes}; style-src {SWAGGER_CDN} "
        "'unsafe-inline'; img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    return page


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
        title = {
            401: "Unauthorized",
            404: "Not found",
            405: "Method not allowed",
            429: "Too many requests",
        }.get(exc.status_code, "Error")
        resp = problem(exc.status_code, title, str(exc.detail))
        resp.headers.update(exc.headers or {})
        if exc.status_code == 401:
            resp.headers["WWW-Authenticate"] = "ApiKey"
        return resp

    @app.exception_handler(RiskwatchError)
    async def user_error(_: Request, exc: RiskwatchError) -> JSONResponse:
        return problem(exc.http_status, type(exc).__name__, str(exc))

    @app.exception_handler(Exception)
    async def bug(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return internal_error()


def internal_error() -> JSONResponse:
    """The 500 a client sees: no traceback, no path; the traceback goes to the log."""
    return problem(500, "Internal error", "the server hit an unexpected error; see its log")


class GuardMiddleware:
    """The edge of every request, as a plain ASGI middleware (cheap, no per-request objects).

    It refuses bodies over the limit with 413, declared (``Content-Length``) or not (chunked),
    adds the security headers to every response, turns an unhandled error into a 500 problem
    (traceback to the log, never to the client) and counts requests for ``/metrics``.
    """

    def __init__(self, app: ASGIApp, *, state: ApiState, max_body: int) -> None:
        self.app = app
        self.state = state
        self.max_body = max_body
        self.headers = security_headers()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        edge = _Edge(scope, send, self.headers)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await edge.respond(self._too_large())
            self._count(scope, 413, started)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                edge.too_large = True
                raise _TooLarge
            return message

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and edge.too_large and not edge.started:
                await edge.respond(self._too_large())  # the app answered a body it never got
            if not edge.replaced:
                await edge.send(message)

        try:
            await self.app(scope, limited, sending)
        except _TooLarge:
            if not edge.started:
                await edge.respond(self._too_large())
        except Exception:
            if edge.replaced:  # the 413 is sent; what the app did after it does not matter
                self._count(scope, edge.status, started)
                return
            if edge.started:
                raise
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            await edge.respond(internal_error())
        self._count(scope, edge.status, started)

    def _too_large(self) -> JSONResponse:
        return problem(413, "Payload too large", f"request body over {self.max_body} bytes")

    def _count(self, scope: Scope, code: int, started: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        self.state.observe(path, scope.get("method", "?"), code, time.perf_counter() - started)


class _Edge:
    """One response on its way out: security headers added, status kept, replaceable once."""

    def __init__(self, scope: Scope, send: Send, headers: list[tuple[bytes, bytes]]) -> None:
        self.scope = scope
        self._send = send
        self.headers = headers
        self.status = 500
        self.started = False
        self.replaced = False
        self.too_large = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]
            have = {name.lower() for name, _ in message.get("headers", [])}
            extra = [h for h in self.headers if h[0] not in have]
            if self.scope.get("scheme") == "https":
                extra.append(HSTS)
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await self._send(message)

    async def respond(self, response: JSONResponse) -> None:
        """Send ``response`` instead of whatever the app sends from now on."""
        await response(self.scope, _no_body, self.send)
        self.replaced = True


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


class _TooLarge(Exception):
    pass

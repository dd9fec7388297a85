"""``/docs`` (Swagger UI), ``/redoc`` and ``/openapi.json``: offline, and behind the key.

The Swagger UI and ReDoc files come from the ``fastapi-offline`` package (no CDN), so the pages
work on a machine without internet. The pages hold no inline script: Swagger UI is started by
``/docs/assets/init.js``, so their Content-Security-Policy allows same-origin scripts only. Like
every route but ``/health``, the pages, their assets and the OpenAPI document need the API key
(or a dashboard session) unless ``api.public_docs = true``; a browser without one gets the
dashboard's key form, which brings it back to the page after the login.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException

from riskwatch.api.auth import KEY_HEADER, authorised

router = APIRouter(include_in_schema=False)
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
INIT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
"""
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""Scripts from this server only; inline style is allowed (both UIs set styles at run time)."""
SWAGGER = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>riskwatch API</title><link rel="icon" href="/docs/assets/favicon.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script></body></html>"""
REDOC = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>riskwatch API (ReDoc)</title><link rel="icon" href="/docs/assets/favicon.png"></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/docs/assets/redoc.standalone.js"></script></body></html>"""


def assets_dir() -> Path:
    """The folder of the Swagger UI and ReDoc files shipped by ``fastapi-offline``.

    Raises:
        HTTPException: 503 when the package is not installed.
    """
    try:
        import fastapi_offline  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise HTTPException(
            503, "the API docs need the fastapi-offline package (pip install fastapi-offline)"
        ) from None

    return Path(fastapi_offline.__file__).parent / "static"


def _public(request: Request) -> bool:
    return bool(request.app.state.rw.settings.api.public_docs)


def _page(request: Request, html: str, here: str) -> Response:
    if not (_public(request) or authorised(request)):
        from riskwatch.api.dashboard import login_page

        return login_page(request, status=401, after=here)
    resp = HTMLResponse(html)
    resp.headers["Content-Security-Policy"] = CSP
    return resp


@router.get("/docs")
def swagger(request: Request) -> Response:
    """Swagger UI, from this server's own copy."""
    return _page(request, SWAGGER, "/docs")


@router.get("/redoc")
def redoc(request: Request) -> Response:
    """ReDoc, from this server's own copy."""
    return _page(request, REDOC, "/redoc")


@router.get("/docs/assets/{name}")
def asset(request: Request, name: str) -> Response:
    """One file of the documentation pages (a fixed list: nothing else is served)."""
    _guard(request)
    if name == "init.js":
        return Response(INIT, media_type="text/javascript")
    if name not in ASSETS:
        raise HTTPException(404, f"no documentation asset {name[:60]!r}")
    return Response(
        (assets_dir() / name).read_bytes(),
        media_type=ASSETS[name],
        headers={"Cache-Control": "private, max-age=86400"},  # a packaged file: it never changes
    )


@router.get("/openapi.json")
def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document of the champion being served."""
    _guard(request)
    return JSONResponse(request.app.openapi())


def _guard(request: Request) -> None:
    if not (_public(request) or authorised(request)):
        raise HTTPException(401, f"missing or wrong {KEY_HEADER} header")


def security_scheme(doc: dict[str, Any]) -> None:
    """Declare the API key in ``doc`` so Swagger UI offers "Authorize" (``/health`` needs none)."""
    components = doc.setdefault("components", {})
    components.setdefault("securitySchemes", {})["ApiKey"] = {
        "type": "apiKey",
        "in": "header",
        "name": KEY_HEADER,
    }
    for path, item in doc.get("paths", {}).items():
        for operation in item.values():
            if isinstance(operation, dict) and path != "/health":
                operation["security"] = [{"ApiKey": []}]

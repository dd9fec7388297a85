"""The dashboard: ``/`` (health, call list with search, filters, sort and pages), ``/client/{id}``
(risk across snapshots and reasons) and ``/calllist.csv`` (the current view as CSV).

Server-rendered HTML with inline SVG charts, no script and no external assets (works offline; the
Content-Security-Policy allows only the page's own stylesheet). Every page needs the API key or a
session: when a key is configured, a small form (with a CSRF token) exchanges it for a signed
session cookie (:mod:`riskwatch.api.auth`).
"""

from __future__ import annotations

import csv
import hmac
import io
from dataclasses import replace
from html import escape
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.exceptions import HTTPException

from riskwatch.answers import calllist, drift, health, models, scoring, stats
from riskwatch.api.auth import (
    CSRF_COOKIE,
    CSRF_SECONDS,
    KEY_HEADER,
    SESSION_COOKIE,
    SESSION_SECONDS,
    auth_of,
    authorised,
    client_of,
)
from riskwatch.api.deps import State
from riskwatch.api.pages import STYLE, STYLE_SOURCE, banner, client_page, overview

__all__ = ["STYLE", "STYLE_SOURCE", "banner", "login_page", "router"]
router = APIRouter(tags=["dashboard"])
AFTER_LOGIN = ("/", "/docs", "/redoc")
MAX_FILTERS = 20

Search = Annotated[str, Query(max_length=100, description="Part of a client id.")]
Filters = Annotated[
    list[str] | None, Query(alias="filter", description="column:value on categorical columns.")
]
Sort = Annotated[Literal["risk", "value"], Query()]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
Size = Annotated[int, Query(ge=1, le=max(calllist.PAGE_SIZES))]


def list_query(
    q: Search = "", filters: Filters = None, sort: Sort = "risk", page: Page = 1, size: Size = 50
) -> calllist.ListQuery:
    """The call list view a request asks for (the same parameters for the page and its CSV)."""
    return calllist.ListQuery(
        search=q, filters=tuple((filters or [])[:MAX_FILTERS]), sort=sort, page=page, size=size
    )


View = Annotated[calllist.ListQuery, Depends(list_query)]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard(request: Request, state: State, query: View) -> HTMLResponse:
    """The dashboard page (or the key form when a key is required)."""
    if not authorised(request):
        return login_page(request, status=401)
    view = calllist.browse(state, query)
    shown = replace(query, page=view.get("page", 1), size=view.get("size", query.size))
    return HTMLResponse(
        overview(
            health.current(state),
            scoring.scoring(state),
            drift.drift(state, 5),
            stats.diagnostics(state),
            models.models(state),
            view,
            shown,
        )
    )


@router.get("/client/{client_id}", response_class=HTMLResponse, include_in_schema=False)
def client(request: Request, state: State, client_id: str) -> Response:
    """One client's page: risk at every snapshot (scored by the champion) and the reasons."""
    if not authorised(request):
        return login_page(request, status=401)
    return HTMLResponse(client_page(calllist.client(state, client_id[:200])))


@router.get("/calllist.csv", include_in_schema=False)
def export(request: Request, state: State, query: View) -> Response:
    """Every client of the current view (search, filters, sort; all pages) as CSV."""
    if not authorised(request):
        raise HTTPException(401, f"missing or wrong {KEY_HEADER} header")
    header, rows = calllist.export_rows(state, query)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=calllist.csv"},
    )


def _cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if isinstance(value, float):
        return round(value, 6)
    return value


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    key: Annotated[str, Form(max_length=500)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    after: Annotated[str, Form(max_length=20)] = "/",
) -> Any:
    """Exchange the API key for a signed session cookie (never the key itself).

    The form's CSRF token must equal its cookie twin and carry this process's signature; wrong
    keys count towards the per-address lockout (429 with ``Retry-After``). ``after`` is one of
    the pages that ask for the key (never another site).
    """
    auth = auth_of(request)
    after = after if after in AFTER_LOGIN else "/"
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not (
        csrf and hmac.compare_digest(csrf.encode(), cookie.encode()) and auth.valid("csrf", csrf)
    ):
        return login_page(
            request, "the form expired; please enter the key again", status=403, after=after
        )
    try:
        ok = auth.check_key(client_of(request), key)
    except HTTPException as exc:
        page = login_page(request, str(exc.detail), status=429, after=after)
        page.headers.update(exc.headers or {})
        return page
    if not ok:
        return login_page(request, "wrong key", status=401, after=after)
    done = RedirectResponse(after, status_code=303)
    _cookie(done, request, SESSION_COOKIE, auth.token("session", SESSION_SECONDS), SESSION_SECONDS)
    done.delete_cookie(CSRF_COOKIE, path="/", httponly=True, samesite="strict")
    return done


def _cookie(resp: Response, request: Request, name: str, value: str, seconds: int) -> None:
    """HttpOnly, SameSite=Strict, and Secure when the request came over HTTPS."""
    resp.set_cookie(
        name,
        value,
        max_age=seconds,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def login_page(
    request: Request, message: str = "", *, status: int, after: str = "/"
) -> HTMLResponse:
    """The key form with a fresh CSRF token (also set as its cookie twin)."""
    token = auth_of(request).token("csrf", CSRF_SECONDS)
    after = after if after in AFTER_LOGIN else "/"
    resp = HTMLResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>riskwatch</title>"
        f"<style>{STYLE}</style></head><body><h1>riskwatch</h1><p>{escape(message)}</p>"
        "<form method='post' action='/login'>"
        f"<input type='hidden' name='csrf' value='{escape(token)}'>"
        f"<input type='hidden' name='after' value='{escape(after)}'>"
        "<label>API key <input type='password' name='key'></label> <button>Open</button></form>"
        "<p class='muted'>The key is the server's <code>RISKWATCH_API_KEY</code> (or "
        "<code>[api] api_key</code>); it is exchanged for a session cookie.</p></body></html>",
        status_code=status,
    )
    _cookie(resp, request, CSRF_COOKIE, token, CSRF_SECONDS)
    return resp

"""The dashboard at ``/``: the call list, the champion's health and history charts.

Server-rendered HTML with inline SVG charts, no script and no external assets (works offline; the
Content-Security-Policy allows only the page's own stylesheet). When an API key is configured, a
small form (with a CSRF token) exchanges it for a signed session cookie (:mod:`riskwatch.api.auth`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.exceptions import HTTPException

from riskwatch.answers import drift, health, models, risk, scoring, stats
from riskwatch.api.auth import (
    CSRF_COOKIE,
    CSRF_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    auth_of,
    authorised,
    client_of,
)
from riskwatch.api.deps import State

router = APIRouter(tags=["dashboard"])
STYLE = """body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:72rem;color:#222}
h1{margin:0 0 .3rem}.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;
padding:.6rem 1rem;min-width:12rem}.big{font-size:1.5rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #eee;padding:.25rem .4rem;text-align:left}th{background:#f6f6f6}
.drift{color:#b00}.no_drift{color:#070}.health{padding:.5rem 1rem;border-radius:6px;margin:.5rem 0}
.health.ok{background:#e6f4ea}.health.attention{background:#fff4d6}.health.failing{background:#fde2e1}svg{background:#fafafa;border:1px solid #eee}"""
STYLE_SOURCE = f"'sha256-{base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()}'"
"""The CSP source that allows the page's one inline stylesheet and nothing else inline."""


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard(request: Request, state: State) -> HTMLResponse:
    """The dashboard page (or the key form when a key is required)."""
    if not authorised(request):
        return _login(request, status=401)
    return HTMLResponse(
        render(
            health.current(state),
            scoring.scoring(state),
            drift.drift(state, 5),
            stats.diagnostics(state),
            models.models(state),
            risk.risk(state, state.settings.scoring.top_k_count),
        )
    )


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    key: Annotated[str, Form(max_length=500)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Any:
    """Exchange the API key for a signed session cookie (never the key itself).

    The form's CSRF token must equal its cookie twin and carry this process's signature; wrong
    keys count towards the per-address lockout (429 with ``Retry-After``).
    """
    auth = auth_of(request)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not (
        csrf and hmac.compare_digest(csrf.encode(), cookie.encode()) and auth.valid("csrf", csrf)
    ):
        return _login(request, "the form expired; please enter the key again", status=403)
    try:
        ok = auth.check_key(client_of(request), key)
    except HTTPException as exc:
        page = _login(request, str(exc.detail), status=429)
        page.headers.update(exc.headers or {})
        return page
    if not ok:
        return _login(request, "wrong key", status=401)
    done = RedirectResponse("/", status_code=303)
    _cookie(done, request, SESSION_COOKIE, auth.token("session", SESSION_SECONDS), SESSION_SECONDS)
    done.delete_cookie(CSRF_COOKIE, path="/", httponly=True, samesite="strict")
    return done


def banner(verdict: dict[str, Any]) -> str:
    """The health verdict and its reasons, first thing on the page."""
    items = "".join(f"<li>{escape(r['message'])}</li>" for r in verdict["reasons"])
    return (
        f"<div id='health' class='health {escape(verdict['health'])}'>"
        f"<strong>{escape(verdict['health'].upper())}</strong><ul>{items}</ul></div>"
    )


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


def _login(request: Request, message: str = "", *, status: int) -> HTMLResponse:
    """The key form with a fresh CSRF token (also set as its cookie twin)."""
    token = auth_of(request).token("csrf", CSRF_SECONDS)
    resp = HTMLResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>riskwatch</title><style>{STYLE}</style>"
        f"</head><body><h1>riskwatch</h1><p>{escape(message)}</p><form method='post' action='/login'>"
        f"<input type='hidden' name='csrf' value='{escape(token)}'>"
        "<label>API key <input type='password' name='key'></label> <button>Open</button></form></body></html>",
        status_code=status,
    )
    _cookie(resp, request, CSRF_COOKIE, token, CSRF_SECONDS)
    return resp


def _svg_lines(
    series: dict[str, list[tuple[float, float]]], title: str, width: int = 460, height: int = 220
) -> str:
    pts = [p for s in series.values() for p in s]
    if not pts:
        return f"<p>{escape(title)}: no data yet</p>"
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(0.0, min(ys)), max(1.0, max(ys))
    pad = 30

    def sx(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * (width - 2 * pad)

    def sy(y: float) -> float:
        return height - pad - (y - y0) / (y1 - y0) * (height - 2 * pad)

    colors = ["#4477aa", "#cc6677", "#228833", "#ccbb44"]
    out = [
        f"<svg role='img' aria-label='{escape(title)}' class='chart' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'><text x='{pad}' y='16' font-size='13'>{escape(title)}</text>"
    ]
    for i, (name, s) in enumerate(series.items()):
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s)
        c = colors[i % len(colors)]
        out.append(f"<polyline fill='none' stroke='{c}' stroke-width='2' points='{path}'/>")
        out += [f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='3' fill='{c}'/>" for x, y in s]
        out.append(
            f"<text x='{width - pad - 120}' y='{20 + 14 * i}' font-size='11' fill='{c}'>{escape(name)}</text>"
        )
    out.append(
        f"<text x='4' y='{sy(y1):.0f}' font-size='10'>{y1:.1f}</text><text x='4' y='{sy(y0):.0f}' font-size='10'>{y0:.1f}</text></svg>"
    )
    return "".join(out)


def _svg_hist(values: list[float], title: str, width: int = 460, height: int = 220) -> str:
    if not values:
        return f"<p>{escape(title)}: no data yet</p>"
    bins = [0] * 20
    for v in values:
        bins[min(int(v * 20), 19)] += 1
    top, pad, bw = max(bins) or 1, 30, (width - 60) / 20
    bars = "".join(
        f"<rect x='{pad + i * bw:.1f}' y='{height - pad - b / top * (height - 2 * pad):.1f}' width='{bw - 1:.1f}' "
        f"height='{b / top * (height - 2 * pad):.1f}' fill='#4477aa'/>"
        for i, b in enumerate(bins)
    )
    return (
        f"<svg role='img' aria-label='{escape(title)}' class='chart' width='{width}' height='{height}'>"
        f"<text x='{pad}' y='16' font-size='13'>{escape(title)}</text>{bars}"
        f"<text x='{pad}' y='{height - 8}' font-size='10'>0</text><text x='{width - pad}' y='{height - 8}' font-size='10'>1</text></svg>"
    )


def render(
    verdict: dict[str, Any],
    scoring: dict[str, Any],
    drift: dict[str, Any],
    diag: dict[str, Any],
    models: dict[str, Any],
    risk: dict[str, Any],
) -> str:
    """The dashboard HTML from the views' answers."""
    m = scoring.get("metrics") or {}
    cards = [
        ("champion", f"v{scoring['model_version']}" if scoring.get("model_version") else "none")
    ]
    if scoring.get("eval_set"):
        cards.append(("evaluated on", str(scoring["eval_set"])))
    cards += [
        (k, f"{m[k]:.3f}")
        for k in ("roc_auc", "f1", "precision_at_k")
        if isinstance(m.get(k), int | float)
    ]
    latest = drift["checks"][0] if drift["checks"] else None
    last_check = latest["verdict"] if latest else "no check yet"
    run = diag.get("last_run")
    cards.append(("drift", last_check))
    cards.append(("last run", f"{run['started_at'][:16]} {run['status']}" if run else "never"))
    head = "".join(
        f"<div class='card'><div>{escape(k)}</div><div class='big {escape(v)}'>{escape(v)}</div></div>"
        for k, v in cards
    )
    rows = []
    for c in risk.get("clients", []):
        factors = ", ".join(f"{f['feature']} = {f['value']}" for f in c.get("factors", []))
        var = c.get("value_at_risk")
        rows.append(
            f"<tr><td>{c['rank']}</td><td>{escape(str(c['id']))}</td><td>{c['risk']:.3f}</td>"
            f"<td>{'' if var is None else f'{var:,.0f}'}</td><td>{escape(factors)}</td></tr>"
        )
    history = {
        k: [
            (float(x["version"]), float(x["metrics"][k]))
            for x in sorted(models["models"], key=lambda r: r["version"])
            if isinstance(x["metrics"].get(k), int | float)
        ]
        for k in ("roc_auc", "f1", "precision_at_k")
    }
    charts = (
        _svg_lines(history, "Metrics across model versions")
        + " "
        + _svg_hist([c["risk"] for c in risk.get("clients", [])], "Risk scores in the call list")
    )
    reasons = "".join(f"<li>{escape(r)}</li>" for r in (latest or {}).get("reasons", []))
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>riskwatch</title><style>{STYLE}</style></head>"
        f"<body><h1>riskwatch</h1>{banner(verdict)}<div class='cards'>{head}</div><h2>Drift</h2><ul>{reasons or '<li>no check yet</li>'}</ul>"
        f"<h2>History</h2><div id='charts'>{charts}</div>"
        f"<h2>Call list: top {len(rows)} of {risk.get('total', 0)} current clients</h2><table id='calllist'>"
        "<tr><th>rank</th><th>client</th><th>risk</th><th>value at risk</th><th>main factors</th></tr>"
        f"{''.join(rows) or '<tr><td colspan=5>no call list yet</td></tr>'}</table></body></html>"
    )

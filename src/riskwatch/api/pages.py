"""The dashboard's HTML: the overview with the call list, and one client's page.

Plain server-rendered HTML: search, filters, sort and paging are a GET form and links, so the
pages need no script and the Content-Security-Policy allows only the one stylesheet (by hash).
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from riskwatch.answers.calllist import PAGE_SIZES, ListQuery
from riskwatch.api import charts
from riskwatch.labels import data_value, factor_text, label, money, num

STYLE = """body{font-family:"DejaVu Sans",system-ui,sans-serif;margin:1.5rem auto;max-width:76rem;
color:#222;padding:0 1rem}h1{margin:0 0 .3rem}nav a{margin-right:1rem}.cards{display:flex;gap:1rem;
flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;min-width:11rem}
.big{font-size:1.4rem}table{border-collapse:collapse}#calllist{width:100%}td,th{border-bottom:1px solid #eee;
padding:.25rem .4rem;text-align:left}th{background:#f6f6f6}td.n,th.n{text-align:right}
.drift{color:#b00}.no_drift{color:#070}.health{padding:.5rem 1rem;border-radius:6px;margin:.5rem 0}
.health.ok{background:#e6f4ea}.health.attention{background:#fff4d6}.health.failing{background:#fde2e1}
svg{background:#fafafa;border:1px solid #eee}form.query{display:flex;gap:.6rem;flex-wrap:wrap;
align-items:end;margin:.5rem 0;padding:.5rem;background:#f6f6f6;border-radius:6px}form.query label{
display:flex;flex-direction:column;font-size:.85rem}.pager{margin:.5rem 0}.pager a,.pager span{
margin-right:.8rem}.atrisk{color:#b00;font-weight:bold}.muted{color:#777}"""
STYLE_SOURCE = f"'sha256-{base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()}'"
"""The CSP source that allows the page's one inline stylesheet and nothing else inline."""


def layout(title: str, body: str) -> str:
    """A whole page: the stylesheet, the navigation and ``body``."""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><nav><a href='/'>Call list</a>"
        f"<a href='/docs'>API docs</a></nav><h1>{escape(title)}</h1>{body}</body></html>"
    )


def banner(verdict: dict[str, Any]) -> str:
    """The health verdict and its reasons, first thing on the page."""
    items = "".join(f"<li>{escape(r['message'])}</li>" for r in verdict["reasons"])
    return (
        f"<div id='health' class='health {escape(verdict['health'])}'>"
        f"<strong>{escape(verdict['health'].upper())}</strong>"
        f"<ul>{items or '<li>nothing needs a look</li>'}</ul></div>"
    )


def overview(
    verdict: dict[str, Any],
    scoring: dict[str, Any],
    drift: dict[str, Any],
    diag: dict[str, Any],
    models: dict[str, Any],
    view: dict[str, Any],
    query: ListQuery,
) -> str:
    """The dashboard page: health, headline cards, drift, history charts and the call list."""
    m = scoring.get("metrics") or {}
    cards = [
        ("champion", f"v{scoring['model_version']}" if scoring.get("model_version") else "none")
    ]
    if scoring.get("eval_set"):
        cards.append(("evaluated on", str(scoring["eval_set"])))
    cards += [
        (label(k), f"{m[k]:.3f}")
        for k in ("roc_auc", "f1", "precision_at_k")
        if isinstance(m.get(k), int | float)
    ]
    latest = drift["checks"][0] if drift["checks"] else None
    run = diag.get("last_run")
    cards.append(("drift", label(latest["verdict"]) if latest else "no check yet"))
    cards.append(("last run", f"{run['started_at'][:16]} {run['status']}" if run else "never"))
    head = "".join(
        f"<div class='card'><div>{escape(k)}</div><div class='big {escape(v.replace(' ', '_'))}'>"
        f"{escape(v)}</div>"
        "</div>"
        for k, v in cards
    )
    history = {
        label(k): [
            (float(x["version"]), float(x["metrics"][k]))
            for x in sorted(models["models"], key=lambda r: r["version"])
            if isinstance(x["metrics"].get(k), int | float)
        ]
        for k in ("roc_auc", "f1", "precision_at_k")
    }
    plot = charts.lines(history, "Metrics by model version")
    hist = charts.histogram([c["risk"] for c in view["clients"]], "Risk scores on this page")
    reasons = "".join(f"<li>{escape(r)}</li>" for r in (latest or {}).get("reasons", []))
    body = (
        f"{banner(verdict)}<div class='cards'>{head}</div><h2>Drift</h2>"
        f"<ul>{reasons or '<li>no check yet</li>'}</ul>"
        f"<h2>History</h2><div id='charts'>{plot} {hist}</div>{call_list(view, query)}"
    )
    return layout("riskwatch", body)


def query_string(query: ListQuery, **change: Any) -> str:
    """The URL query of ``query`` with ``change`` applied (for links and the CSV export)."""
    params: list[tuple[str, str]] = []
    search = change.get("search", query.search)
    if search:
        params.append(("q", search))
    params += [("filter", item) for item in query.filters]
    params += [("sort", change.get("sort", query.sort))]
    params += [("page", str(change.get("page", query.page))), ("size", str(query.size))]
    return urlencode(params)


def call_list(view: dict[str, Any], query: ListQuery) -> str:
    """The call list: the query form, one page of clients, paging and the CSV export link."""
    chosen = query.chosen(tuple(view["facets"]))
    selects = "".join(_select(col, vals, chosen) for col, vals in view["facets"].items())
    sorts = [("risk", "risk")] + ([("value", "value at risk")] if view.get("value") else [])
    sort = "".join(
        f"<option value='{k}'{' selected' if query.sort == k else ''}>{escape(t)}</option>"
        for k, t in sorts
    )
    sizes = "".join(
        f"<option{' selected' if view.get('size', query.size) == s else ''}>{s}</option>"
        for s in PAGE_SIZES
    )
    form = (
        "<form class='query' id='query' method='get' action='/'>"
        f"<label>Client id <input type='search' name='q' value='{escape(query.search)}' "
        f"maxlength='100'></label>{selects}<label>Sort by <select name='sort'>{sort}</select>"
        f"</label><label>Per page <select name='size'>{sizes}</select></label>"
        "<button type='submit'>Show</button></form>"
    )
    rows = []
    for c in view["clients"]:
        factors = ", ".join(factor_text(f) for f in c.get("factors", []))
        cid = str(c["id"])
        rows.append(
            f"<tr><td class='n'>{c['rank']}</td><td><a href='/client/{quote(cid, safe='')}'>"
            f"{escape(cid)}</a></td><td class='n{' atrisk' if c.get('at_risk') else ''}'>"
            f"{c['risk']:.3f}</td><td class='n'>{money(c.get('value_at_risk'))}</td>"
            + "".join(f"<td>{escape(str(c.get(col) or ''))}</td>" for col in view["facets"])
            + f"<td>{escape(factors)}</td></tr>"
        )
    cols = "".join(f"<th>{escape(label(col))}</th>" for col in view["facets"])
    page, pages = view.get("page", 1), view.get("pages", 1)
    pager = [f"<span>page {page} of {pages}</span>"]
    if page > 1:
        pager.append(f"<a rel='prev' href='/?{query_string(query, page=page - 1)}'>previous</a>")
    if page < pages:
        pager.append(f"<a rel='next' href='/?{query_string(query, page=page + 1)}'>next</a>")
    pager.append(
        f"<a id='export' href='/calllist.csv?{query_string(query, page=1)}'>export CSV</a>"
    )
    return (
        f"<h2>Call list: {num(view.get('matched', 0))} of {num(view.get('total', 0))} current "
        f"clients</h2>{form}<div class='pager'>{''.join(pager)}</div><table id='calllist'>"
        "<tr><th class='n'>rank</th><th>client</th><th class='n'>risk</th>"
        f"<th class='n'>value at risk</th>{cols}<th>main factors</th></tr>"
        f"{''.join(rows) or '<tr><td colspan=5>no clients match</td></tr>'}</table>"
    )


def _select(column: str, values: list[str], filters: dict[str, str]) -> str:
    chosen = filters.get(column)
    options = "<option value=''>all</option>" + "".join(
        f"<option value='{escape(column)}:{escape(v)}'{' selected' if v == chosen else ''}>"
        f"{escape(v)}</option>"
        for v in values[:200]
    )
    return (
        f"<label>{escape(label(column))} <select name='filter' data-column='{escape(column)}'>"
        f"{options}</select></label>"
    )


def client_page(info: dict[str, Any]) -> str:
    """One client: place on the call list, risk history chart, reasons and latest features."""
    listed = info.get("listed")
    if listed:
        where = (
            f"rank {listed['rank']} on the call list, risk {listed['risk']:.3f}"
            + (" (at risk)" if listed.get("at_risk") else "")
            + (
                f", value at risk {money(listed['value_at_risk'])}"
                if listed.get("value_at_risk") is not None
                else ""
            )
        )
    else:
        where = "not on the current call list (the client has left or is not current)"
    reasons = "".join(
        f"<li>{escape(factor_text(f))} <span class='muted'>(effect "
        f"{float(f.get('effect') or 0):+.2f} against a typical client)</span></li>"
        for f in info.get("factors", [])
    )
    history = "".join(
        f"<tr><td>{escape(str(h['snapshot'] or '-'))}</td><td class='n'>{h['risk']:.3f}</td>"
        f"<td>{'left' if h['left'] else 'stayed' if h['left'] is False else 'not known yet'}</td>"
        "</tr>"
        for h in info["history"]
    )
    features = "".join(
        f"<tr><th>{escape(label(k))}</th><td>{escape(data_value(v))}</td></tr>"
        for k, v in info["features"].items()
    )
    body = (
        f"<p id='where'>{escape(where)}; scored by champion v{info['model_version']}.</p>"
        f"<div id='history'>{charts.risk_history(info['history'], info.get('threshold'))}</div>"
        f"<h2>Why this risk (latest snapshot)</h2><ul id='reasons'>"
        f"{reasons or '<li>no risk-raising factor</li>'}</ul>"
        "<h2>Risk at each snapshot</h2><table id='snapshots'><tr><th>snapshot</th>"
        f"<th class='n'>risk</th><th>outcome</th></tr>{history}</table>"
        f"<h2>Latest record</h2><table id='features'>{features}</table>"
    )
    return layout(f"Client {info['id']}", body)

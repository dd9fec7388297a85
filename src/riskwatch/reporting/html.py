"""The report as one self-contained HTML document (print CSS: A4 pages, titles, page numbers).

The PDF is this same HTML rendered by WeasyPrint (:mod:`riskwatch.reporting.pdf`), so the two
cannot differ. Page 1 answers three questions: is it OK, what changed since the last report, and
whom do we call; the model, data, history and lineage pages follow (:mod:`.sections`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from riskwatch.labels import factor_text, label, money, num

CSS = """
@page{size:A4;margin:17mm 15mm 17mm 15mm;
 @top-left{content:"riskwatch report";font-size:8pt;color:#777}
 @top-right{content:string(section);font-size:8pt;color:#777}
 @bottom-left{content:string(stamp);font-size:8pt;color:#777}
 @bottom-right{content:"page " counter(page) " of " counter(pages);font-size:8pt;color:#777}}
html{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;font-size:9.5pt;color:#222}
body{margin:0}h1{font-size:20pt;margin:0 0 2mm}h2{font-size:14pt;margin:0 0 3mm;
string-set:section content();border-bottom:2px solid #4477aa;padding-bottom:1mm}
h3{font-size:11pt;margin:4mm 0 1.5mm;break-after:avoid}p{margin:1.5mm 0}.meta{color:#555;string-set:stamp content()}
section.page{break-before:page}section.page.first{break-before:auto}
table{border-collapse:collapse;margin:2mm 0 3mm;width:100%}th,td{border-bottom:1px solid #ddd;
padding:1mm 1.5mm;text-align:left;vertical-align:top}th{background:#f1f4f8;font-weight:bold}
td.n,th.n{text-align:right;white-space:nowrap}tr,figure,.keep{break-inside:avoid}
figure{margin:2mm 0}figure img{width:100%}figcaption{font-size:8pt;color:#555}
.grid{display:flex;flex-wrap:wrap;gap:3mm}.grid figure,.half{width:48%}.badge{display:inline-block;
padding:1mm 4mm;border-radius:2mm;font-weight:bold;font-size:13pt}.ok .badge{background:#dff0e3;
color:#176b2c}.attention .badge{background:#fff1c9;color:#7a5600}.failing .badge{background:#fbd9d6;
color:#9b1c12}.answer{border:1px solid #ddd;border-radius:2mm;padding:1mm 4mm 2mm;margin:0 0 3mm}
.changed{font-weight:bold}.muted{color:#777}.drifted{color:#b00;font-weight:bold}dl{margin:0}
dt{font-weight:bold;float:left;width:42mm;clear:left}dd{margin:0 0 1.5mm 44mm}
@media screen{html{background:#e9ebee}body{max-width:210mm;margin:0 auto}section.page{
background:#fff;padding:15mm;margin:6mm 0;box-shadow:0 1px 4px #0003}}
"""


def render_html(data: dict[str, Any], images: dict[str, str], *, run_id: int | None) -> str:
    """The self-contained HTML report (images inline as PNG data)."""
    from riskwatch.reporting import sections

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    pages = [
        first_page(data, when=when, run_id=run_id),
        sections.model_page(data, images),
        sections.data_page(data, images),
        sections.history_page(data, images),
        sections.lineage_page(data),
        sections.appendix(data),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>riskwatch report {escape(when)}</title><style>{CSS}</style></head><body>"
        + "".join(pages)
        + "</body></html>"
    )


def first_page(data: dict[str, Any], *, when: str, run_id: int | None) -> str:
    """Page 1: health verdict and reasons, what changed, the top of the call list."""
    sc, card = data["scoring"], data.get("card") or {}
    version = sc.get("model_version")
    champion = (
        f"Champion: model v{version} ({escape(str(card.get('kind', '')))})"
        if version is not None
        else "Champion: none yet"
    )
    dataset = data["risk"].get("dataset_version")
    meta = f"{escape(when)}{f' · run {run_id}' if run_id else ''} · {champion}" + (
        f" · dataset v{dataset}" if dataset is not None else ""
    )
    return (
        "<section class='page first' id='summary'><h1>riskwatch report</h1>"
        f"<p class='meta'>{meta}</p><h2>Summary</h2>"
        f"{health_block(data['health'])}{changes_block(data['changes'])}"
        f"{calls_block(data['risk'])}</section>"
    )


def health_block(verdict: dict[str, Any]) -> str:
    """(a) Is it OK? The verdict and one line per reason."""
    state = verdict["health"]
    reasons = "".join(f"<li>{escape(r['message'])}</li>" for r in verdict["reasons"])
    return (
        f"<div class='answer {escape(state)}' id='health'><h3>Is everything OK?</h3>"
        f"<span class='badge'>{escape(label(state).upper())}</span>"
        f"<ul>{reasons or '<li>nothing needs a look: runs, data and model are fine</li>'}</ul>"
        "</div>"
    )


def changes_block(changes: dict[str, Any]) -> str:
    """(b) What changed since the last report."""
    since = (
        f" (report {escape(str(changes['since']))}, {escape(str(changes['at'])[:16])} UTC)"
        if changes.get("since")
        else ""
    )
    rows = "".join(
        f"<tr><th>{escape(i['what'][:1].upper() + i['what'][1:])}</th>"
        f"<td class='{'changed' if i.get('changed') else ''}'>{escape(i['text'])}</td></tr>"
        for i in changes["items"]
    )
    return (
        f"<div class='answer' id='changes'><h3>What changed since the last report{since}?</h3>"
        f"<table>{rows}</table></div>"
    )


def calls_block(risk: dict[str, Any]) -> str:
    """(c) Whom do we call? The top of the call list with reasons and value at risk."""
    clients = risk.get("clients", [])
    if not clients:
        return (
            "<div class='answer' id='calls'><h3>Who do we call? Call list</h3>"
            f"<p>{escape(risk.get('note') or 'no call list yet')}</p></div>"
        )
    value = any(c.get("value_at_risk") is not None for c in clients)
    head = (
        "<tr><th class='n'>Rank</th><th>Client</th><th class='n'>Risk</th>"
        + ("<th class='n'>Value at risk</th>" if value else "")
        + "<th>Main reasons</th></tr>"
    )
    rows = "".join(
        f"<tr><td class='n'>{c['rank']}</td><td>{escape(str(c['id']))}</td>"
        f"<td class='n'>{c['risk']:.1%}</td>"
        + (f"<td class='n'>{money(c.get('value_at_risk'))}</td>" if value else "")
        + f"<td>{escape(', '.join(factor_text(f) for f in c.get('factors', [])))}</td></tr>"
        for c in clients
    )
    threshold = risk.get("threshold")
    intro = (
        f"{num(risk.get('at_risk', 0))} of {num(risk.get('total', 0))} current clients are at or "
        f"above the decision threshold"
        + (f" ({threshold:.1%})" if isinstance(threshold, float) else "")
        + f". The top {len(clients)}:"
    )
    return (
        "<div class='answer' id='calls'><h3>Who do we call? Call list</h3>"
        f"<p>{intro}</p><table>{head}{rows}</table></div>"
    )


def figure(images: dict[str, str], name: str, caption: str) -> str:
    """An embedded PNG figure with its caption ('' when the figure was not drawn)."""
    if name not in images:
        return ""
    return (
        f"<figure><img alt='{escape(caption)}' src='data:image/png;base64,{images[name]}'>"
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def table(header: list[str], rows: list[list[Any]], *, numeric: set[int] | None = None) -> str:
    """A table of already-formatted cells (escaped here); ``numeric`` columns align right."""
    numeric = numeric or set()
    cls = [" class='n'" if i in numeric else "" for i in range(len(header))]
    head = "".join(f"<th{cls[i]}>{escape(h)}</th>" for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(f"<td{cls[i]}>{escape(str(v))}</td>" for i, v in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"

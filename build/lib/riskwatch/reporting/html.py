"""The report's text content, as self-contained HTML and as PDF text pages."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from matplotlib.figure import Figure

from riskwatch.model.metrics import REPORTED

CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
th{background:#f3f3f3}.drift{color:#b00}.ok{color:#070}img{max-width:100%}"""
METRICS = REPORTED


def _e(v: Any) -> str:
    return html.escape(str(v))


def _fmt(v: Any) -> str:
    if v is None:
        return "undefined"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def lines(data: dict[str, Any], run_id: int | None) -> dict[str, list[str]]:
    """The report's sections as plain text lines (shared by HTML and PDF)."""
    out: dict[str, list[str]] = {}
    verdict = data.get("health") or {"health": "ok", "reasons": []}
    out["Health"] = [verdict["health"].upper()] + [r["message"] for r in verdict["reasons"]]
    sc = data["scoring"]
    card = data.get("card") or {}
    out["Champion"] = (
        [f"no champion yet ({sc.get('note', '')})"]
        if sc["model_version"] is None
        else [
            f"model v{sc['model_version']} ({card.get('kind')}), trained {str(card.get('created_at'))[:19]} on dataset "
            f"v{card.get('dataset_version')} ({card.get('rows')} rows)",
            f"why this model: {(card.get('selection') or {}).get('why', 'configured')}",
            f"calibration: {(card.get('calibration') or {}).get('method')}; evaluation: {card.get('eval_set')}",
        ]
    )
    m = sc.get("metrics") or {}
    out["Metrics"] = [f"{k}: {_fmt(m.get(k))}" for k in METRICS if k in m] + [
        f"{k}: undefined ({why})" for k, why in (m.get("undefined") or {}).items()
    ]
    checks = data["drift"]["checks"]
    out["Drift"] = [
        f"{c['checked_at'][:19]} {c['batch']}: {c['verdict']} - {'; '.join(c['reasons'])}"
        for c in checks
    ] or ["no drift check yet"]
    summ = (data["summary"].get("summary") or {}).get("data") or {}
    out["Summary statistics"] = [
        f"{col}: mean {_fmt(s['mean'])}, median {_fmt(s['median'])}, std {_fmt(s['std'])}, min {_fmt(s['min'])}, max {_fmt(s['max'])}"
        for col, s in (summ.get("numeric") or {}).items()
    ] + [
        f"{col}: {s['unique']} categories, top {', '.join(list(s['top'])[:3])}"
        for col, s in (summ.get("categorical") or {}).items()
    ]
    if summ.get("label"):
        lab = summ["label"]
        out["Summary statistics"].append(
            f"label {lab['column']}: {lab['positives']} of {lab['labelled']} left (rate {_fmt(lab['rate'])})"
        )
    miss = (data["summary"].get("missing") or {}).get("data") or {}
    out["Missing data"] = [f"{c}: {v:.1%}" for c, v in miss.items()] or ["not computed yet"]
    tim = (data["diagnostics"].get("timings") or {}).get("data") or {}
    out["Timings"] = [
        f"{s}: {t['latest_s']:.3f} s (latest of {t['runs']})" for s, t in tim.items()
    ] or ["none recorded yet"]
    deps = (data["diagnostics"].get("dependencies") or {}).get("data") or []
    outdated = [d for d in deps if d.get("outdated")]
    out["Dependencies"] = [f"{len(deps)} packages; {len(outdated)} outdated"] + [
        f"{d['package']}: installed {d['installed']}, latest {d['latest']}" for d in outdated[:15]
    ]
    risk = data["risk"]
    out["Call list"] = [
        f"{c['rank']}. {c['id']}  risk {c['risk']:.3f}"
        + (
            f"  value at risk {c['value_at_risk']:.0f}"
            if c.get("value_at_risk") is not None
            else ""
        )
        + "  "
        + ", ".join(f"{f['feature']}={f['value']}" for f in c.get("factors", []))
        for c in risk.get("clients", [])
    ] or ["no call list yet"]
    return out


def render_html(data: dict[str, Any], images: dict[str, str], *, run_id: int | None) -> str:
    """The self-contained HTML report."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>riskwatch report</title>"
        f"<style>{CSS}</style></head><body><h1>riskwatch report</h1><p>{when}"
        f"{f' (run {run_id})' if run_id else ''}</p>"
    ]
    sections = lines(data, run_id)
    for title, rows in sections.items():
        if title == "Call list":
            continue
        parts.append(
            f"<h2>{_e(title)}</h2><ul>" + "".join(f"<li>{_e(r)}</li>" for r in rows) + "</ul>"
        )
    parts.append(
        "<h2>Call list (top 20)</h2><table><tr><th>rank</th><th>client</th><th>risk</th>"
        "<th>value at risk</th><th>main factors</th></tr>"
    )
    for c in data["risk"].get("clients", []):
        factors = ", ".join(f"{f['feature']} = {f['value']}" for f in c.get("factors", []))
        var = c.get("value_at_risk")
        parts.append(
            f"<tr><td>{c['rank']}</td><td>{_e(c['id'])}</td><td>{c['risk']:.3f}</td>"
            f"<td>{'' if var is None else f'{var:,.0f}'}</td><td>{_e(factors)}</td></tr>"
        )
    parts.append("</table><h2>Figures</h2>")
    for name, b64 in images.items():
        parts.append(
            f"<figure><img alt='{_e(name)}' src='data:image/png;base64,{b64}'><figcaption>{_e(name)}</figcaption></figure>"
        )
    parts.append("</body></html>")
    return "".join(parts)


def text_pages(data: dict[str, Any], *, run_id: int | None) -> list[Figure]:
    """A4-ish PDF pages holding the text sections."""
    import textwrap

    pages, y, fig = [], 0.95, None
    for title, rows in lines(data, run_id).items():
        wrapped = [
            part
            for row in rows
            for part in textwrap.wrap(row, 110, subsequent_indent="    ") or [""]
        ]
        for i, text in enumerate([title, *wrapped]):
            if fig is None or y < 0.05:
                fig = Figure(figsize=(8.27, 11.69))
                pages.append(fig)
                y = 0.95
                if len(pages) == 1:
                    fig.text(0.05, y, "riskwatch report", fontsize=18, weight="bold")
                    y -= 0.04
            fig.text(
                0.05 if i == 0 else 0.07,
                y,
                text[:120],
                fontsize=11 if i == 0 else 8,
                weight="bold" if i == 0 else "normal",
                family="sans-serif" if i == 0 else "monospace",
            )
            y -= 0.028 if i == 0 else 0.018
        y -= 0.01
    return pages

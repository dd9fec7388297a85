"""The report's pages after the summary: model, data, history, lineage and the appendix."""

from __future__ import annotations

from html import escape
from typing import Any

from riskwatch.labels import RANK_METRICS, THRESHOLD_METRICS, data_value, label, metric_label, num
from riskwatch.reporting.html import figure, table


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _metric(value: Any) -> str:
    return "undefined" if value is None else f"{value:.4f}"


def model_page(data: dict[str, Any], images: dict[str, str]) -> str:
    """Rank metrics, metrics at the chosen threshold, confusion matrix, calibration and curves."""
    sc, card = data["scoring"], data.get("card") or {}
    m = sc.get("metrics") or {}
    if sc.get("model_version") is None:
        return "<section class='page' id='model'><h2>Model</h2><p>No champion yet.</p></section>"
    undefined = m.get("undefined") or {}
    rank = [[metric_label(k, m), _metric(m.get(k))] for k in RANK_METRICS if k in m]
    at = [[metric_label(k, m), _metric(m.get(k))] for k in THRESHOLD_METRICS if k in m]
    conf = m.get("confusion") or {}
    if conf:
        flagged = conf.get("tp", 0) + conf.get("fp", 0)
        at.append(["Clients flagged at risk", f"{flagged:,} of {m.get('rows', 0):,}"])
    notes = "".join(f"<li>{escape(label(k))}: {escape(str(v))}</li>" for k, v in undefined.items())
    threshold = card.get("threshold", m.get("threshold"))
    rule = card.get("threshold_rule") or ""
    ev = data.get("eval") or {}
    on = f"on {ev.get('set', sc.get('eval_set'))}"
    warning = f"<p class='drifted'>{escape(str(m['warning']))}</p>" if m.get("warning") else ""
    return (
        f"<section class='page' id='model'><h2>Model v{sc['model_version']}: how good is it?</h2>"
        f"<p>{escape(str(card.get('kind', '')))} model, evaluated on "
        f"<b>{escape(str(sc.get('eval_set')))}</b>: {num(m.get('rows'))} clients, "
        f"{num(m.get('positives'))} of whom left.</p>{warning}"
        "<div class='grid'><div class='keep half'><h3>Ranking quality</h3>"
        f"{table(['Metric', 'Value'], rank, numeric={1})}</div>"
        f"<div class='keep half'><h3>At the chosen threshold "
        f"{_metric(threshold) if isinstance(threshold, float) else escape(str(threshold))}</h3>"
        f"<p class='muted'>{escape(rule)}</p>{table(['Metric', 'Value'], at, numeric={1})}</div>"
        "</div>"
        + (f"<ul class='muted'>{notes}</ul>" if notes else "")
        + "<div class='grid'>"
        + figure(images, "confusionmatrix", f"Confusion matrix on {sc.get('eval_set')}")
        + figure(images, "calibration", f"Calibration: predicted risk against what happened, {on}")
        + "</div>"
        + (f"<p class='muted'>{escape(ev['note'])}</p>" if ev.get("note") else "")
        + figure(images, "roc_pr", f"ROC and precision-recall curves, {on}")
        + "<div class='grid'>"
        + figure(images, "risk_distribution", f"Risk scores, {on}")
        + figure(images, "top_k", f"Precision and recall among the k riskiest clients, {on}")
        + "</div></section>"
    )


def data_page(data: dict[str, Any], images: dict[str, str]) -> str:
    """Drift of each feature, distributions of those that drifted, missing data, quarantine."""
    latest = (data["drift"].get("latest") or {}) if data.get("drift") else {}
    dist = data.get("distributions") or {}
    columns = (latest.get("data") or {}).get("columns") or []
    rows = [
        [
            label(c["column"]),
            label(str(c.get("test"))),
            num(c.get("statistic")),
            num(c.get("threshold")),
            num(c.get("psi")),
            "drifted" if c.get("drifted") else "stable",
        ]
        for c in columns
    ]
    head = "<section class='page' id='data'><h2>Data: does the newest batch look familiar?</h2>"
    if not latest:
        return head + "<p>No drift check yet.</p></section>"
    intro = (
        f"<p>Newest check: <b>{escape(label(latest.get('verdict', '')))}</b> on "
        f"{escape(str(latest.get('batch')))} against the training rows of model "
        f"v{latest.get('model_version')}.</p>"
        + "".join(f"<p class='muted'>{escape(r)}</p>" for r in latest.get("reasons", [])[:3])
    )
    figs = "".join(
        figure(
            images,
            f"distribution_{i}",
            f"{label(f['column'])}: reference {num(dist.get('reference_rows'))} rows, newest "
            f"batch {num(dist.get('current_rows'))} rows",
        )
        for i, f in enumerate(dist.get("features", []))
    )
    shown = (
        f"<h3>Features that drifted: reference (training) against the newest batch</h3>"
        f"<div class='grid'>{figs}</div>"
        if figs
        else f"<p>{escape(str(dist.get('note') or 'No feature drifted.'))}</p>"
    )
    return (
        head
        + intro
        + table(
            ["Feature", "Test", "Statistic", "Threshold", "PSI", "Result"],
            rows,
            numeric={2, 3, 4},
        )
        + shown
        + missing_block(data)
        + quarantine_block(data.get("ingestions") or [])
        + "</section>"
    )


def missing_block(data: dict[str, Any]) -> str:
    """Share of missing values per column of the current dataset."""
    miss = ((data.get("summary") or {}).get("missing") or {}).get("data") or {}
    rows = [[label(c), f"{v:.1%}"] for c, v in miss.items() if v]
    text = (
        table(["Column", "Missing"], rows, numeric={1})
        if rows
        else f"<p>No missing values in any of the {len(miss)} columns.</p>"
        if miss
        else "<p>Not computed yet.</p>"
    )
    return f"<div class='keep'><h3>Missing data</h3>{text}</div>"


def quarantine_block(units: list[dict[str, Any]]) -> str:
    """What the latest ingestions read, accepted, quarantined and dropped as duplicates."""
    if not units:
        return "<h3>Ingestion and quarantine</h3><p>Nothing ingested yet.</p>"
    rows = [
        [
            f"{u['source']}: {str(u['unit'])[-40:]}",
            str(u["at"] or "")[:16],
            num(u["rows_read"]),
            num(u["rows_accepted"]),
            num(u["rows_quarantined"]),
            num(u["rows_duplicate"]),
            u["status"],
        ]
        for u in units
    ]
    header = ["Unit", "When (UTC)", "Rows read", "Accepted", "Quarantined", "Duplicates", "Status"]
    return f"<h3>Ingestion and quarantine</h3>{table(header, rows, numeric={2, 3, 4, 5})}"


def history_page(data: dict[str, Any], images: dict[str, str]) -> str:
    """Performance and drift over time, models compared on one set, gate decisions."""
    hist = data.get("history") or {}
    checks = hist.get("checks") or []
    rows = [
        [
            str(c["checked_at"])[:16],
            c["batch"],
            f"v{c['model_version']}",
            label(c["verdict"]),
            f"{label(str(c['metric']))} {_metric(c['value'])}" if c.get("metric") else "",
            ", ".join(label(d) for d in c["drifted"]) or "none",
        ]
        for c in reversed(checks)
    ]
    shared = []
    for eval_set, entries in (hist.get("shared_sets") or {}).items():
        for e in entries:
            m = e["metrics"]
            shared.append(
                [eval_set, f"v{e['version']}", _metric(m.get("roc_auc")), _metric(m.get("pr_auc")),
                 _metric(m.get("f1")), num(m.get("rows"))]
            )  # fmt: skip
    gates = [
        [str(d["at"])[:16], f"v{d['candidate']}", f"v{d['champion']}" if d["champion"] else "-",
         label(d["decision"]), str(d["reason"])[:110]]
        for d in hist.get("deployments") or []
    ]  # fmt: skip
    return (
        "<section class='page' id='history'><h2>History: performance and drift over time</h2>"
        + figure(images, "performance_history", "Each point: the champion of the time, scored on "
                 "a batch of newly labelled clients (comparable: same metric, fresh data)")
        + figure(images, "drift_history", "Share of features that drifted in each check")
        + "<h3>Drift checks (newest first)</h3>"
        + (table(["When (UTC)", "Batch", "Model", "Verdict", "Measured", "Drifted features"], rows)
           if rows else "<p>No drift check yet.</p>")
        + "<h3>Models compared on the same evaluation set</h3>"
        + (table(["Evaluation set", "Model", label("roc_auc"), "PR AUC", label("f1"), "Clients"],
                 shared, numeric={2, 3, 4, 5})
           if shared else "<p>No evaluation set was used for more than one model yet.</p>")
        + "<div class='keep'><h3>Gate decisions</h3>"
        + (table(["When (UTC)", "Candidate", "Champion", "Decision", "Why"], gates)
           if gates else "<p>No gate decision yet.</p>") + "</div>"
        + "</section>"
    )  # fmt: skip


def lineage_page(data: dict[str, Any]) -> str:
    """The champion's model card: what it is, how it was made, what it is for."""
    card = data.get("card")
    if not card:
        return (
            "<section class='page' id='lineage'><h2>Lineage</h2><p>No champion yet.</p></section>"
        )
    sel, cal = card.get("selection") or {}, card.get("calibration") or {}
    items = [
        ("Model", f"v{card.get('version')}: {card.get('kind')}"),
        ("Trained", f"{str(card.get('created_at'))[:19]} UTC, data through {card.get('trained_through') or '-'}"),
        ("Training data", f"dataset v{card.get('dataset_version')}: {num(card.get('rows'))} rows, "
         f"{num(card.get('positives'))} who left (fingerprint {str(card.get('dataset_fingerprint'))[:12]})"
         + (f"; {card['training_sample']}" if card.get("training_sample") else "")),
        ("Features", ", ".join(label(f) for f in card.get("features") or [])),
        ("Why this model", sel.get("why", "configured")),
        ("Plan", card.get("plan") or "-"),
        ("Calibration", f"{cal.get('method')}" + (f" ({sel.get('calibration', {}).get('why')})" if sel.get("calibration", {}).get("why") else "")),
        ("Evaluation", f"{card.get('eval_set')}" + (f": {card.get('eval_how')}" if card.get("eval_how") else "")),
        ("Decision threshold", f"{data_value(card.get('threshold'))}: {card.get('threshold_rule') or 'configured'}"),
        ("Reason for training", _clip(str(card.get("reason") or "-"), 300)),
        ("Code", f"riskwatch {card.get('code_version')}, commit {card.get('git_commit') or 'none recorded'}"),
        ("Packages", ", ".join(f"{k} {v}" for k, v in (card.get("packages") or {}).items())),
        ("Artifact sha256", str(card.get("sha256") or "-")),
        ("Intended use", card.get("intended_use") or "-"),
        ("Limits", card.get("limits") or "-"),
    ]  # fmt: skip
    moves = [
        [str(a["at"])[:16], a["alias"], f"v{a['version']}" if a["version"] else "-",
         f"v{a['previous']}" if a["previous"] else "-", a["actor"], str(a["reason"] or "")[:90]]
        for a in reversed((data.get("models") or {}).get("alias_history") or [])
    ][:12]  # fmt: skip
    dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in items)
    return (
        f"<section class='page' id='lineage'><h2>Lineage: model card of v{card.get('version')}</h2>"
        f"<dl>{dl}</dl><h3>Alias moves (newest first)</h3>"
        + table(["When (UTC)", "Alias", "To", "From", "By", "Reason"], moves)
        + "</section>"
    )


def appendix(data: dict[str, Any]) -> str:
    """Summary statistics of the current dataset, step timings and outdated dependencies."""
    summ = ((data.get("summary") or {}).get("summary") or {}).get("data") or {}
    numeric = [
        [label(col), *(data_value(s.get(k)) for k in ("mean", "median", "std", "min", "max"))]
        for col, s in (summ.get("numeric") or {}).items()
    ]  # fmt: skip
    categorical = [
        [label(col), num(s.get("unique")), ", ".join(f"{k} ({v:,})" for k, v in list(s["top"].items())[:4])]
        for col, s in (summ.get("categorical") or {}).items()
    ]  # fmt: skip
    tim = ((data.get("diagnostics") or {}).get("timings") or {}).get("data") or {}
    timings = [[s.capitalize(), f"{t['latest_s']:.3f}", num(t.get("runs"))] for s, t in tim.items()]
    deps = ((data.get("diagnostics") or {}).get("dependencies") or {}).get("data") or []
    outdated = [[d["package"], d["installed"], d["latest"]] for d in deps if d.get("outdated")]
    lab = summ.get("label")
    label_line = (
        f"<p>Label {escape(label(lab['column']))}: {num(lab['positives'])} of {num(lab['labelled'])} "
        f"labelled clients left ({lab['rate']:.1%}).</p>" if lab else ""
    )  # fmt: skip
    return (
        "<section class='page' id='appendix'><h2>Appendix: data summary and operations</h2>"
        f"<p>{num(summ.get('rows'))} rows in the current dataset.</p>{label_line}"
        + table(["Numeric feature", "Mean", "Median", "Std", "Min", "Max"], numeric, numeric={1, 2, 3, 4, 5})
        + table(["Categorical feature", "Categories", "Most frequent"], categorical, numeric={1})
        + "<h3>Step timings (latest run, seconds)</h3>"
        + table(["Step", "Seconds", "Runs recorded"], timings, numeric={1, 2})
        + f"<h3>Dependencies</h3><p>{len(deps)} packages checked; {len(outdated)} outdated.</p>"
        + (table(["Package", "Installed", "Latest"], outdated[:15]) if outdated else "")
        + "</section>"
    )  # fmt: skip

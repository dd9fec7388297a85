"""``riskwatch report``: an HTML page, a PDF with the same content and the PNGs, in a new folder.

Every report goes to ``reports/<UTC timestamp>-<n>/`` (written in a hidden temp folder, then
renamed), so earlier reports are never overwritten. The HTML is self-contained (images inline) and
holds no raw data beyond the call list's top rows.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from riskwatch.context import RunContext


@dataclass
class ReportPaths:
    """Where a report was written."""

    folder: Path
    html: Path
    pdf: Path
    pngs: list[Path]


def collect(ctx: RunContext) -> dict[str, Any]:
    """Everything the report shows: the shared answers plus the champion's evaluation scores."""
    from riskwatch.answers import drift, health, models, risk, scoring, stats
    from riskwatch.model.metrics import calibration_curve
    from riskwatch.registry.evalsets import evaluation_rows

    data: dict[str, Any] = {
        "health": health.current(ctx),
        "scoring": scoring.scoring(ctx),
        "models": models.models(ctx),
        "drift": drift.drift(ctx, 5),
        "summary": stats.summarystats(ctx),
        "diagnostics": stats.diagnostics(ctx),
        "risk": risk.risk(ctx, 20),
    }
    champion = ctx.champion()
    if champion is not None:
        frame = evaluation_rows(ctx, champion.version)
        if len(frame):
            y = frame[champion.schema.target_column].astype("int64").to_numpy()
            p = champion.risk(frame)
            data["eval"] = {
                "y": y,
                "p": p,
                "calibration": calibration_curve(y, p),
                "threshold": champion.threshold,
            }
        data["card"] = champion.card
    return data


def figures(data: dict[str, Any]) -> dict[str, Figure]:
    """The report's figures by file name."""
    from riskwatch.reporting import figures as fg

    out: dict[str, Figure] = {}
    metrics = data["scoring"].get("metrics") or {}
    if metrics.get("confusion"):
        out["confusionmatrix"] = fg.confusion_matrix(
            metrics["confusion"],
            title=f"Champion v{data['scoring']['model_version']} on {metrics.get('eval_set')}",
        )
    ev = data.get("eval")
    if ev:
        out["roc_pr"] = fg.roc_pr_curves(ev["y"], ev["p"])
        out["calibration"] = fg.calibration(ev["calibration"])
        out["risk_distribution"] = fg.score_distribution(ev["p"], ev["threshold"])
        out["top_k"] = fg.top_k_curve(ev["y"], ev["p"])
    if data["models"]["models"]:
        out["metric_history"] = fg.metric_history(data["models"]["models"])
    latest = data["drift"].get("latest")
    if latest and latest.get("data", {}).get("columns"):
        out["feature_drift"] = fg.feature_drift(latest["data"]["columns"])
    timings = (data["diagnostics"].get("timings") or {}).get("data")
    if timings:
        out["step_timings"] = fg.step_timings(timings)
    return out


def build_report(ctx: RunContext, *, run_id: int | None = None) -> ReportPaths:
    """Write a new report folder (with the API answers as ``apireturns.json``); return its paths."""
    import json

    from matplotlib.backends.backend_pdf import PdfPages

    from riskwatch.answers.snapshot import snapshot
    from riskwatch.reporting.html import render_html, text_pages
    from riskwatch.storage.reports import write_report

    data = collect(ctx)
    figs = figures(data)
    files: dict[str, bytes] = {}
    images: dict[str, str] = {}
    for name, fig in figs.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        files[f"{name}.png"] = buf.getvalue()
        images[name] = base64.b64encode(buf.getvalue()).decode()
    files["report.html"] = render_html(data, images, run_id=run_id).encode("utf-8")
    pdf_buf = io.BytesIO()
    with PdfPages(pdf_buf) as pdf:
        for page in text_pages(data, run_id=run_id):
            pdf.savefig(page)
        for fig in figs.values():
            pdf.savefig(fig)
    files["report.pdf"] = pdf_buf.getvalue()
    files["apireturns.json"] = json.dumps(snapshot(ctx), indent=2, default=str).encode("utf-8")
    folder = write_report(ctx.ws, files)
    return ReportPaths(
        folder, folder / "report.html", folder / "report.pdf", sorted(folder.glob("*.png"))
    )

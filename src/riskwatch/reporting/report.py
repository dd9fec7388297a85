"""``riskwatch report``: an HTML page, a PDF with the same content and the PNGs, in a new folder.

Every report goes to ``reports/<UTC timestamp>-<n>/`` (written in a hidden temp folder, then
renamed), so earlier reports are never overwritten. The HTML is self-contained (images inline) and
holds no raw data beyond the call list's top rows.
"""

from __future__ import annotations

import base64
import io
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from riskwatch.config import Settings
    from riskwatch.storage.db import Database
    from riskwatch.storage.workspace import Workspace


@dataclass
class ReportPaths:
    """Where a report was written."""

    folder: Path
    html: Path
    pdf: Path
    pngs: list[Path]


def collect(settings: Settings, ws: Workspace, db: Database) -> dict[str, Any]:
    """Everything the report shows, from stored results (plus the champion's evaluation scores)."""
    from riskwatch import views
    from riskwatch.evaluation import calibration_curve
    from riskwatch.registry import evaluation_frame, load_champion

    data: dict[str, Any] = {
        "scoring": views.scoring(settings, db),
        "models": views.models(db),
        "drift": views.drift(db, 5),
        "summary": views.summarystats(db),
        "diagnostics": views.diagnostics(db),
        "risk": views.risk(settings, ws, db, 20),
    }
    champion = load_champion(settings, db, ws)
    if champion is not None:
        frame = evaluation_frame(settings, ws, db, champion)
        if len(frame):
            y = frame[champion.schema.target_column].astype("int64").to_numpy()
            p = champion.predict_proba(frame)
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


def build_report(
    settings: Settings, ws: Workspace, db: Database, *, run_id: int | None = None
) -> ReportPaths:
    """Write a new report folder and return its paths."""
    from matplotlib.backends.backend_pdf import PdfPages

    from riskwatch.reporting.html import render_html, text_pages

    data = collect(settings, ws, db)
    figs = figures(data)
    ws.reports.mkdir(parents=True, exist_ok=True)
    tmp = ws.reports / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    images: dict[str, str] = {}
    for name, fig in figs.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        (tmp / f"{name}.png").write_bytes(buf.getvalue())
        images[name] = base64.b64encode(buf.getvalue()).decode()
    (tmp / "report.html").write_text(render_html(data, images, run_id=run_id), encoding="utf-8")
    with PdfPages(tmp / "report.pdf") as pdf:
        for page in text_pages(data, run_id=run_id):
            pdf.savefig(page)
        for fig in figs.values():
            pdf.savefig(fig)
    for f in tmp.iterdir():
        with f.open("rb") as fh:
            os.fsync(fh.fileno())
    folder = _final_name(ws.reports)
    tmp.rename(folder)
    return ReportPaths(
        folder, folder / "report.html", folder / "report.pdf", sorted(folder.glob("*.png"))
    )


def _final_name(root: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    n = 1
    while (root / f"{stamp}-{n}").exists():
        n += 1
    return root / f"{stamp}-{n}"

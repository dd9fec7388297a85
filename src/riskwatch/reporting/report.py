"""``riskwatch report``: an HTML page, a PDF of that same page, and the PNGs, in a new folder.

Every report goes to ``reports/<UTC timestamp>-<n>/`` (written in a hidden temp folder, then
renamed), so earlier reports are never overwritten. The HTML is self-contained (images inline) and
holds no raw data beyond the call list's top rows. Besides it: ``apireturns.json`` (the API's
answers) and ``summary.json`` (page 1 as data), which the next report compares against. A
figure whose data did not change since an earlier report is reused, not drawn again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from riskwatch.context import RunContext

log = logging.getLogger("riskwatch.report")
DPI = 110


@dataclass
class ReportPaths:
    """Where a report was written (``pdf`` is None when WeasyPrint is not usable; ``note`` says
    why)."""

    folder: Path
    html: Path
    pdf: Path | None
    pngs: list[Path]
    note: str | None = None
    reused: list[str] = field(default_factory=list)


def collect(ctx: RunContext) -> dict[str, Any]:
    """Everything the report shows (see :func:`riskwatch.reporting.content.collect`)."""
    from riskwatch.reporting.content import collect as gather

    return gather(ctx)


def figure_plan(data: dict[str, Any]) -> dict[str, tuple[Callable[[], Figure], Any]]:
    """The report's figures by file name: how to draw each one and the data it is drawn from."""
    from riskwatch.labels import label
    from riskwatch.reporting import figures as fg

    plan: dict[str, tuple[Callable[[], Figure], Any]] = {}
    metrics = data["scoring"].get("metrics") or {}
    if metrics.get("confusion"):
        title = f"Champion v{data['scoring']['model_version']}"
        conf = metrics["confusion"]
        plan["confusionmatrix"] = (lambda: fg.confusion_matrix(conf, title=title), [conf, title])
    ev = data.get("eval") or {}
    if "y" in ev:
        y, p, cal, thr = ev["y"], ev["p"], ev["calibration"], ev["threshold"]
        scores = [y.tobytes(), p.tobytes()]
        plan["roc_pr"] = (lambda: fg.roc_pr_curves(y, p), scores)
        plan["calibration"] = (lambda: fg.calibration(cal), cal)
        plan["risk_distribution"] = (lambda: fg.score_distribution(p, thr), [*scores, thr])
        plan["top_k"] = (lambda: fg.top_k_curve(y, p), scores)
    checks = (data.get("history") or {}).get("checks") or []
    if checks:
        metric = label(str(next((c["metric"] for c in checks if c.get("metric")), "score")))
        plan["performance_history"] = (
            lambda: fg.performance_history(checks, metric_label=metric),
            [checks, metric],
        )
        plan["drift_history"] = (lambda: fg.drift_history(checks), checks)
    for i, feature in enumerate((data.get("distributions") or {}).get("features", [])):
        name = label(feature["column"])
        plan[f"distribution_{i}"] = (partial(fg.distribution, feature, label=name), [feature, name])
    return plan


def render_figures(ctx: RunContext, data: dict[str, Any]) -> tuple[dict[str, bytes], list[str]]:
    """PNG bytes of every figure, drawn only when its data changed since an earlier report."""
    from riskwatch.storage.reports import cached_figure, store_figure

    out: dict[str, bytes] = {}
    reused: list[str] = []
    for name, (draw, inputs) in figure_plan(data).items():
        digest = _digest(name, inputs)
        png = cached_figure(ctx.ws, digest)
        if png is None:
            png = _png(draw())
            store_figure(ctx.ws, digest, png)
        else:
            reused.append(name)
        out[name] = png
    return out, reused


def build_report(ctx: RunContext, *, run_id: int | None = None) -> ReportPaths:
    """Write a new report folder (HTML, PDF, PNGs, the API answers); return its paths."""
    from riskwatch.reporting.content import summary
    from riskwatch.reporting.html import render_html
    from riskwatch.reporting.pdf import PdfUnavailable, render_pdf
    from riskwatch.storage.reports import write_report

    data = collect(ctx)
    pngs, reused = render_figures(ctx, data)
    images = {name: base64.b64encode(png).decode() for name, png in pngs.items()}
    html = render_html(data, images, run_id=run_id)
    files: dict[str, bytes] = {"report.html": html.encode("utf-8")}
    note = None
    try:
        files["report.pdf"] = render_pdf(html)
    except PdfUnavailable as exc:
        note = str(exc)
        log.warning("%s", note)
    files.update({f"{name}.png": png for name, png in pngs.items()})
    files["apireturns.json"] = _json(data["snapshot"])
    files["summary.json"] = _json(summary(data))
    folder = write_report(ctx.ws, files)
    return ReportPaths(
        folder,
        folder / "report.html",
        folder / "report.pdf" if "report.pdf" in files else None,
        sorted(folder.glob("*.png")),
        note,
        reused,
    )


def _png(fig: Figure) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, default=str).encode("utf-8")


def _digest(name: str, inputs: Any) -> str:
    """A key for a figure's data (arrays by their bytes), its name and the code that draws it."""
    from riskwatch.reporting import figures

    h = hashlib.sha256(f"{name}|{DPI}".encode())
    h.update(Path(figures.__file__).read_bytes())  # new figure code draws anew

    def feed(value: Any) -> None:
        if isinstance(value, bytes):
            h.update(value)
        elif isinstance(value, list | tuple):
            for v in value:
                feed(v)
        else:
            h.update(json.dumps(value, sort_keys=True, default=str).encode())

    feed(inputs)
    return h.hexdigest()

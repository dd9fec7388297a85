"""Inline SVG charts for the dashboard: drawn with presentation attributes only (no script, no
style attribute), so the page's Content-Security-Policy stays strict."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

COLORS = ("#4477aa", "#cc6677", "#228833", "#ccbb44")
PAD = 34


def lines(
    series: dict[str, list[tuple[float, float]]], title: str, width: int = 460, height: int = 220
) -> str:
    """Lines through (x, y) points, one per named series, y from 0 to at least 1."""
    pts = [p for s in series.values() for p in s]
    if not pts:
        return f"<p>{escape(title)}: no data yet</p>"
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(0.0, min(ys)), max(1.0, max(ys))

    def sx(x: float) -> float:
        return PAD + (x - x0) / (x1 - x0) * (width - 2 * PAD)

    def sy(y: float) -> float:
        return height - PAD - (y - y0) / (y1 - y0) * (height - 2 * PAD)

    out = [_open(title, width, height)]
    for i, (name, s) in enumerate(series.items()):
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s)
        c = COLORS[i % len(COLORS)]
        out.append(f"<polyline fill='none' stroke='{c}' stroke-width='2' points='{path}'/>")
        out += [f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='3' fill='{c}'/>" for x, y in s]
        out.append(
            f"<text x='{width - PAD - 130}' y='{34 + 14 * i}' font-size='11' fill='{c}'>"
            f"{escape(name)}</text>"
        )
    out.append(_y_axis(sy, y0, y1) + "</svg>")
    return "".join(out)


def histogram(values: Sequence[float], title: str, width: int = 460, height: int = 220) -> str:
    """A 20-bin histogram of values in [0, 1]."""
    if not values:
        return f"<p>{escape(title)}: no data yet</p>"
    bins = [0] * 20
    for v in values:
        bins[min(max(int(v * 20), 0), 19)] += 1
    top, bw = max(bins) or 1, (width - 2 * PAD) / 20
    bars = "".join(
        f"<rect x='{PAD + i * bw:.1f}' y='{height - PAD - b / top * (height - 2 * PAD):.1f}' "
        f"width='{bw - 1:.1f}' height='{b / top * (height - 2 * PAD):.1f}' fill='#4477aa'/>"
        for i, b in enumerate(bins)
    )
    return (
        f"{_open(title, width, height)}{bars}"
        f"<text x='{PAD}' y='{height - 12}' font-size='10'>0</text>"
        f"<text x='{width - PAD}' y='{height - 12}' font-size='10'>1</text></svg>"
    )


def risk_history(
    points: Sequence[dict[str, object]],
    threshold: float | None,
    *,
    width: int = 640,
    height: int = 260,
) -> str:
    """A client's risk at each snapshot: line, threshold, and red points where the client left.

    Args:
        points: ``{"snapshot": str | None, "risk": float, "left": bool | None}`` oldest first.
        threshold: the champion's decision threshold (drawn dashed), if any.
    """
    title = "Risk at each snapshot (champion model)"
    if not points:
        return f"<p>{escape(title)}: no snapshots</p>"
    risks = [float(str(p["risk"])) for p in points]
    top = max(0.2, min(1.0, max([*risks, threshold or 0.0]) * 1.2))
    n = len(points)

    def sx(i: int) -> float:
        return PAD + 20 + (i / (n - 1) if n > 1 else 0.5) * (width - 2 * PAD - 40)

    def sy(y: float) -> float:
        return height - PAD - y / top * (height - 2 * PAD)

    out = [_open(title, width, height, "riskhistory")]
    if threshold is not None and threshold <= top:
        out.append(
            f"<line x1='{PAD}' x2='{width - PAD}' y1='{sy(threshold):.1f}' y2='{sy(threshold):.1f}' "
            "stroke='#cc3311' stroke-dasharray='5,4'/>"
            f"<text x='{width - PAD - 110}' y='{sy(threshold) - 4:.1f}' font-size='10' "
            f"fill='#cc3311'>threshold {threshold:.3f}</text>"
        )
    path = " ".join(f"{sx(i):.1f},{sy(r):.1f}" for i, r in enumerate(risks))
    out.append(f"<polyline fill='none' stroke='#4477aa' stroke-width='2' points='{path}'/>")
    step = max(1, n // 8)
    for i, (p, r) in enumerate(zip(points, risks, strict=True)):
        color = "#cc3311" if p.get("left") else "#4477aa"
        label = escape(str(p.get("snapshot") or f"#{i + 1}"))
        out.append(
            f"<circle class='point' cx='{sx(i):.1f}' cy='{sy(r):.1f}' r='4' fill='{color}'>"
            f"<title>{label}: risk {r:.3f}</title></circle>"
        )
        if i % step == 0 or i == n - 1:
            out.append(
                f"<text x='{sx(i):.1f}' y='{height - 12}' font-size='10' "
                f"text-anchor='middle'>{label}</text>"
            )
    out.append(_y_axis(sy, 0.0, top) + "</svg>")
    return "".join(out)


def _open(title: str, width: int, height: int, cls: str = "chart") -> str:
    return (
        f"<svg role='img' aria-label='{escape(title)}' class='{cls}' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}'>"
        f"<text x='{PAD}' y='16' font-size='13'>{escape(title)}</text>"
    )


def _y_axis(sy: Callable[[float], float], y0: float, y1: float) -> str:
    return (
        f"<text x='4' y='{sy(y1):.0f}' font-size='10'>{y1:.1f}</text>"
        f"<text x='4' y='{sy(y0):.0f}' font-size='10'>{y0:.1f}</text>"
    )

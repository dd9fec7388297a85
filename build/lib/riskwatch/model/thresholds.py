"""Pure decision thresholds: the cut at which a client counts as at risk, as people chose it.

``capacity`` (default): the risk of the last client the team can call (``top_k_count`` clients of
the current call list). ``f1``: the cut that maximises F1 on predictions made out of time (the gate
window). A number: that cut. The course preset keeps the course's 0.5.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def resolve(
    rule: float | str,
    *,
    capacity: int,
    current_risk: np.ndarray,
    y_window: np.ndarray,
    p_window: np.ndarray,
) -> tuple[float, str]:
    """The threshold for ``rule`` and how it was found (for the model card)."""
    if not isinstance(rule, str):
        return float(rule), f"configured {float(rule):g}"
    if rule == "f1":
        return f1_cut(y_window, p_window)
    ranked = np.sort(np.asarray(current_risk, dtype=np.float64))[::-1]
    if len(ranked) == 0:
        return 0.5, "capacity: no current clients to rank; 0.5"
    k = min(capacity, len(ranked))
    cut = float(ranked[k - 1])
    return cut, f"capacity: the risk of client {k} of {len(ranked)} current clients ({cut:.4f})"


def f1_cut(y: np.ndarray, p: np.ndarray) -> tuple[float, str]:
    """The cut maximising F1 (ties: the higher cut); 0.5 when undefined."""
    y, p = np.asarray(y, dtype=np.int64), np.asarray(p, dtype=np.float64)
    pos = int(y.sum())
    if pos == 0 or len(y) == 0:
        return 0.5, "f1: no positives out of time to choose a cut; 0.5"
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    tp = np.cumsum(ys)
    k = np.arange(1, len(ys) + 1)
    f1 = 2 * tp / (k + pos)
    last_of_tie = np.r_[ps[1:] != ps[:-1], True]  # a cut includes every row with the same score
    f1 = np.where(last_of_tie, f1, -1.0)
    best = int(np.argmax(f1))
    cut = float(ps[best])
    return cut, f"f1: {f1[best]:.4f} at {cut:.4f}, chosen on {len(y)} rows out of time"


def describe(rule: Any) -> str:
    """The configured rule in words."""
    return f"{rule:g}" if isinstance(rule, float | int) else str(rule)

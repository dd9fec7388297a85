"""Figures built from results: data in, a matplotlib Figure out (saving is the caller's job).

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot global state), so they
are safe in servers and threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

SIZE = (6.0, 4.0)


def confusion_matrix(conf: dict[str, int], *, title: str = "Confusion matrix") -> Figure:
    """The course's confusion matrix: actual rows (stayed/left) x predicted columns."""
    m = np.array([[conf.get("tn", 0), conf.get("fp", 0)], [conf.get("fn", 0), conf.get("tp", 0)]])
    fig = Figure(figsize=(4.5, 4.0))
    ax = fig.subplots()
    ax.imshow(m, cmap="Blues")
    for (i, j), v in np.ndenumerate(m):
        ax.text(
            j,
            i,
            str(v),
            ha="center",
            va="center",
            color="white" if v > m.max() / 2 else "black",
            fontsize=14,
        )
    ax.set_xticks([0, 1], ["stays", "leaves"])
    ax.set_yticks([0, 1], ["stayed", "left"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def roc_pr_curves(y: Sequence[int], p: Sequence[float]) -> Figure:
    """ROC and precision-recall curves side by side."""
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    fig = Figure(figsize=(9.0, 4.0))
    a, b = fig.subplots(1, 2)
    y_arr, p_arr = np.asarray(y), np.asarray(p)
    if 0 < y_arr.sum() < len(y_arr):
        fpr, tpr, _ = roc_curve(y_arr, p_arr)
        a.plot(fpr, tpr, label=f"AUC {roc_auc_score(y_arr, p_arr):.3f}")
        prec, rec, _ = precision_recall_curve(y_arr, p_arr)
        b.plot(rec, prec, label=f"AP {average_precision_score(y_arr, p_arr):.3f}")
        b.axhline(y_arr.mean(), ls=":", c="grey", label="base rate")
    else:
        for ax in (a, b):
            ax.text(0.5, 0.5, "undefined: one class only", ha="center")
    a.plot([0, 1], [0, 1], ls="--", c="grey")
    a.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    b.set(xlabel="recall", ylabel="precision", title="Precision-recall curve")
    a.legend(loc="lower right")
    b.legend(loc="upper right")
    fig.tight_layout()
    return fig


def calibration(curve: dict[str, list[float]]) -> Figure:
    """Observed rate vs mean predicted probability per bin."""
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ls="--", c="grey", label="perfect")
    ax.plot(curve["predicted"], curve["observed"], marker="o", label="model")
    ax.set(
        xlabel="mean predicted risk",
        ylabel="observed attrition rate",
        title="Calibration",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend()
    fig.tight_layout()
    return fig


def score_distribution(p: Sequence[float], threshold: float) -> Figure:
    """Histogram of risk scores with the decision threshold."""
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    ax.hist(np.asarray(p), bins=30, range=(0, 1), color="#4477aa")
    ax.axvline(threshold, c="red", ls="--", label=f"threshold {threshold:g}")
    ax.set(xlabel="risk score", ylabel="clients", title="Risk-score distribution")
    ax.legend()
    fig.tight_layout()
    return fig


def top_k_curve(y: Sequence[int], p: Sequence[float]) -> Figure:
    """Precision and recall among the k highest-risk clients, against k."""
    y_arr = np.asarray(y)[np.argsort(-np.asarray(p), kind="stable")]
    k = np.arange(1, len(y_arr) + 1)
    hits = np.cumsum(y_arr)
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    ax.plot(k, hits / k, label="precision in top k")
    if y_arr.sum():
        ax.plot(k, hits / y_arr.sum(), label="recall in top k")
    ax.set(xlabel="k (clients called)", ylabel="share", title="Top-k view", ylim=(0, 1.05))
    ax.legend()
    fig.tight_layout()
    return fig


def metric_history(
    models: Sequence[dict[str, Any]], metrics: Sequence[str] = ("roc_auc", "f1", "precision_at_k")
) -> Figure:
    """Key metrics across model versions (each on its own evaluation set)."""
    rows = sorted(models, key=lambda m: m["version"])
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    for name in metrics:
        xs = [m["version"] for m in rows if isinstance(m["metrics"].get(name), int | float)]
        ys = [m["metrics"][name] for m in rows if isinstance(m["metrics"].get(name), int | float)]
        if xs:
            ax.plot(xs, ys, marker="o", label=name)
    ax.set(xlabel="model version", ylabel="score", title="Metric history")
    if rows:
        ax.set_xticks([m["version"] for m in rows])
    ax.legend()
    fig.tight_layout()
    return fig


def feature_drift(columns: Sequence[dict[str, Any]]) -> Figure:
    """PSI per feature, drifted features highlighted, with the PSI bands."""
    fig = Figure(figsize=(6.0, max(2.5, 0.35 * len(columns) + 1)))
    ax = fig.subplots()
    names = [c["column"] for c in columns]
    psi = [c.get("psi") or 0.0 for c in columns]
    colors = ["#cc3311" if c.get("drifted") else "#4477aa" for c in columns]
    ax.barh(names, psi, color=colors)
    for x, style in ((0.1, ":"), (0.25, "--")):
        ax.axvline(x, c="grey", ls=style)
    ax.set(xlabel="PSI (red: drift detected by its test)", title="Feature drift")
    fig.tight_layout()
    return fig


def step_timings(timings: dict[str, Any]) -> Figure:
    """Duration of each pipeline step over its recorded history."""
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    for step, info in sorted(timings.items()):
        ys = [h["seconds"] for h in info.get("history", [])]
        if ys:
            ax.plot(range(1, len(ys) + 1), ys, marker=".", label=step)
    ax.set(xlabel="run (oldest to newest)", ylabel="seconds", title="Step timings")
    if timings:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig

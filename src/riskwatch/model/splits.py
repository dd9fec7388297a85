"""Pure splits: labelled rows, their labels, and the hold-out a model is evaluated on.

The hold-out is the newest snapshots when the contract has a snapshot column (time-based),
otherwise a stratified random split. Its row keys are stored with the model (see
:mod:`riskwatch.registry.evalsets`), so later scores use exactly the same rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.schema import DataSchema


def labelled(frame: pd.DataFrame, schema: DataSchema) -> pd.DataFrame:
    """Rows whose label is known."""
    return frame.loc[frame[schema.target_column].notna()].reset_index(drop=True)


def labels(frame: pd.DataFrame, schema: DataSchema) -> np.ndarray:
    """The 0/1 labels of labelled rows."""
    return frame[schema.target_column].astype("int64").to_numpy()


WINDOW_ROWS = 1000  # an out-of-time window holds at least this many rows (when the data has them)
WINDOW_POSITIVES = 30  # ... and this many positives


def choose_holdout(
    frame: pd.DataFrame, schema: DataSchema, fraction: float, seed: int
) -> tuple[np.ndarray, str]:
    """A boolean hold-out mask and how it was chosen.

    With a snapshot column: out of time, the newest snapshot(s) until the window holds
    ``min(fraction * rows, WINDOW_ROWS)`` rows and ``WINDOW_POSITIVES`` positives (never every
    snapshot). Otherwise a stratified random ``fraction``.
    """
    n = len(frame)
    snap = schema.snapshot_column
    if snap and snap in frame.columns and frame[snap].nunique() > 1:
        dates = frame[snap]
        y = labels(frame, schema)
        order = dates.drop_duplicates().sort_values(ascending=False).tolist()
        chosen: list[Any] = []
        rows = positives = 0
        for date in order[:-1]:
            chosen.append(date)
            hit = (dates == date).to_numpy()
            rows += int(hit.sum())
            positives += int(y[hit].sum())
            if rows >= min(fraction * n, WINDOW_ROWS) and positives >= min(
                WINDOW_POSITIVES, max(1, int(y.sum() * fraction))
            ):
                break
        shown = ", ".join(str(d)[:10] for d in chosen)
        return dates.isin(chosen).to_numpy(), f"out of time: the newest snapshot(s) {shown}"
    rng = np.random.default_rng(seed)
    y = labels(frame, schema)
    mask = np.zeros(n, dtype=bool)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        take = round(len(idx) * fraction)
        if len(idx) >= 2 and take == 0:
            take = 1
        mask[rng.choice(idx, size=min(take, max(len(idx) - 1, 0)), replace=False)] = True
    return mask, f"stratified random {fraction:.0%} (seed {seed})"


def training_sample(y: np.ndarray, max_rows: int | None, seed: int) -> tuple[np.ndarray, str]:
    """Which labelled rows a model is fitted on, and how they were chosen.

    All of them when ``max_rows`` is None or not exceeded; otherwise a stratified random
    sample of ``max_rows`` rows (each label keeps its share, at least one row of each), in
    the rows' order.
    """
    n = len(y)
    if max_rows is None or n <= max_rows:
        return np.ones(n, dtype=bool), f"the whole labelled data ({n:,} rows)"
    rng = np.random.default_rng(seed)
    mask = np.zeros(n, dtype=bool)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        take = min(len(idx), max(1, round(max_rows * len(idx) / n))) if len(idx) else 0
        mask[rng.choice(idx, size=take, replace=False)] = True
    return mask, (
        f"a stratified random sample of {int(mask.sum()):,} of {n:,} labelled rows "
        f"(training.max_rows, seed {seed})"
    )


def current_clients(data: pd.DataFrame, schema: DataSchema) -> pd.DataFrame:
    """The latest record of every client that has not already left.

    Records are ordered by the snapshot column when there is one, else by arrival order.
    """
    frame = data
    if schema.snapshot_column and schema.snapshot_column in frame.columns:
        frame = frame.sort_values(schema.snapshot_column, kind="stable")
    latest = frame.drop_duplicates(subset=[schema.id_column], keep="last")
    gone = latest[schema.target_column].fillna(0).astype("int64") == 1
    return latest.loc[~gone].reset_index(drop=True)

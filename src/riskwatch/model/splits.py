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


def choose_holdout(
    frame: pd.DataFrame, schema: DataSchema, fraction: float, seed: int
) -> tuple[np.ndarray, str]:
    """A boolean hold-out mask and how it was chosen (time-based or stratified)."""
    n = len(frame)
    snap = schema.snapshot_column
    if snap and snap in frame.columns and frame[snap].nunique() > 1:
        dates = frame[snap]
        counts = dates.value_counts().sort_index(ascending=False)
        chosen: list[Any] = []
        total = 0
        for date, count in counts.items():
            if total >= fraction * n or len(chosen) == len(counts) - 1:
                break
            chosen.append(date)
            total += int(count)
        return dates.isin(
            chosen
        ).to_numpy(), f"time-based: the newest snapshot(s) {', '.join(map(str, chosen))}"
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

"""Per-client risk factors: what pushes this client's risk up, so a manager knows what to discuss.

- Linear models (``logistic``, ``course``): each feature's contribution to the log-odds,
  coefficient x (this client's transformed value - the training average), one-hot columns summed
  back to their original feature. Exact for the model, but not causal.
- Other models: occlusion. Each feature in turn is replaced by its typical training value (median
  or most frequent category) and the drop in predicted risk is the factor's effect. It ignores
  interactions between features and is only as good as the "typical value" is neutral.

Only factors that raise the risk (effect > 0) are returned, largest first. The functions here are
the arithmetic; :mod:`riskwatch.model.scoring` applies them to a loaded model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.schema import DataSchema


def linear_coefficients(pipeline: Any) -> np.ndarray | None:
    """The coefficients of a linear final step (inside calibration or a shift too), else None."""
    model = pipeline.steps[-1][1]
    while True:
        if hasattr(model, "calibrated_classifiers_"):
            model = model.calibrated_classifiers_[0].estimator
        elif hasattr(model, "offset") and getattr(model, "estimator", None) is not None:
            model = model.estimator  # a ShiftedClassifier: the shift is the same for everyone
        else:
            break
    coef = getattr(model, "coef_", None)
    return None if coef is None else np.asarray(coef, dtype=np.float64).ravel()


def transformed(pipeline: Any, X: pd.DataFrame) -> np.ndarray:
    """The model step's input for raw rows ``X`` (every step but the last)."""
    return np.asarray(pipeline[:-1].transform(X), dtype=np.float64)


def linear_baseline(pipeline: Any, X: pd.DataFrame) -> list[float] | None:
    """The training mean of each transformed column of a linear model (None for other models)."""
    if linear_coefficients(pipeline) is None:
        return None
    return [float(v) for v in transformed(pipeline, X).mean(axis=0)]


def typical_values(X: pd.DataFrame, schema: DataSchema) -> dict[str, Any]:
    """A typical value per feature of typed rows (median, or the most frequent category)."""
    out: dict[str, Any] = {}
    for col in schema.features:
        s = X[col].dropna()
        if col in schema.categorical:
            out[col] = s.mode().iloc[0] if len(s) else None
        else:
            out[col] = float(s.median()) if len(s) else 0.0
    return out


def feature_owner(pipeline: Any, schema: DataSchema) -> np.ndarray:
    """For each transformed column, the index of the feature it comes from (-1: unknown)."""
    names = [str(n).split("__", 1)[-1] for n in pipeline[:-1].get_feature_names_out()]
    owner = np.full(len(names), -1, dtype=np.int64)
    for k, name in enumerate(names):
        for j, feature in enumerate(schema.features):
            if feature in schema.categorical:
                hit = name.startswith(feature + "_")
            else:
                hit = name in (feature, f"missingindicator_{feature}")
            if hit:
                owner[k] = j
                break
    return owner


def linear_effects(
    Z: np.ndarray, coef: np.ndarray, means: np.ndarray, owner: np.ndarray, n_features: int
) -> np.ndarray:
    """Contribution of each feature to each row's log-odds relative to the training average."""
    contrib = (Z - means) * coef
    effects = np.zeros((len(Z), n_features))
    known = owner >= 0
    np.add.at(effects.T, owner[known], contrib[:, known].T)
    return effects


def occlusion_effects(risk: np.ndarray, swapped_risk: np.ndarray) -> np.ndarray:
    """Effects from the risk of each row and of each row with one feature made typical.

    Args:
        risk: shape (n,).
        swapped_risk: shape (features, n), row j with feature j set to its typical value.
    """
    return (risk[None, :] - swapped_risk).T


def top_factors(
    effects: np.ndarray, values: Sequence[Sequence[Any]], names: Sequence[str], top: int
) -> list[list[dict[str, Any]]]:
    """The ``top`` risk-raising factors per row: feature, its value and its effect."""
    n, width = effects.shape
    if n == 0:
        return []
    k = min(top, width)
    best = np.argsort(-effects, axis=1, kind="stable")[:, :k]
    out = []
    for i in range(n):
        row = effects[i]
        out.append(
            [
                {
                    "feature": names[j],
                    "value": plain(values[i][j]),
                    "effect": round(float(row[j]), 4),
                }
                for j in best[i]
                if row[j] > 0
            ]
        )
    return out


def plain(value: Any) -> Any:
    """A JSON-friendly scalar (numpy scalars unwrapped, NaN as None)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value

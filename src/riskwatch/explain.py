"""Per-client risk factors: what pushes this client's risk up, so a manager knows what to discuss.

- Linear models (``logistic``, ``course``): each feature's contribution to the log-odds,
  coefficient x (this client's transformed value - the training average), one-hot columns summed
  back to their original feature. Exact for the model, but not causal.
- Other models: occlusion. Each feature in turn is replaced by its typical training value (median
  or most frequent category) and the drop in predicted risk is the factor's effect. It ignores
  interactions between features and is only as good as the "typical value" is neutral.

Only factors that raise the risk (effect > 0) are returned, largest first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from riskwatch.schema import DataSchema


def reasons(
    pipeline: Pipeline,
    X: pd.DataFrame,
    schema: DataSchema,
    reference: dict[str, Any],
    *,
    top: int = 3,
) -> list[list[dict[str, Any]]]:
    """Top risk-raising factors per row of ``X`` (already prepared by ``training.prepare``)."""
    return risk_and_reasons(pipeline, X, schema, reference, top=top)[1]


def risk_and_reasons(
    pipeline: Pipeline,
    X: pd.DataFrame,
    schema: DataSchema,
    reference: dict[str, Any],
    *,
    top: int = 3,
) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
    """Risk and top factors with as few pipeline calls as possible (the API's hot path)."""
    if len(X) == 0:
        return np.empty(0), []
    linear = _linear_parts(pipeline)
    if linear:
        risk = pipeline.predict_proba(X)[:, 1]
        effects = _linear_effects(pipeline, X, schema, *linear)
    else:
        risk, effects = _occlusion(pipeline, X, reference)
    return risk, _top_factors(effects, X, schema, top)


def _top_factors(
    effects: np.ndarray, X: pd.DataFrame, schema: DataSchema, top: int
) -> list[list[dict[str, Any]]]:
    names = list(schema.features)
    values = X.to_numpy(dtype=object)
    out = []
    for i in range(len(X)):
        row = effects[i]
        order = np.argsort(-row)[:top]
        out.append(
            [
                {
                    "feature": names[j],
                    "value": _plain(values[i, j]),
                    "effect": round(float(row[j]), 4),
                }
                for j in order
                if row[j] > 0
            ]
        )
    return out


def _linear_parts(pipeline: Pipeline) -> tuple[np.ndarray, np.ndarray] | None:
    """(coefficients, training mean of the transformed columns) of a linear model, else None."""
    model = pipeline.named_steps["model"]
    inner = model
    if hasattr(model, "calibrated_classifiers_"):
        inner = model.calibrated_classifiers_[0].estimator
    coef = getattr(inner, "coef_", None)
    means = getattr(pipeline, "_rw_means", None)
    if coef is None or means is None:
        return None
    return np.asarray(coef).ravel(), np.asarray(means)


def remember_means(pipeline: Pipeline, X: pd.DataFrame) -> None:
    """Store the transformed training means on a fitted pipeline (for linear explanations)."""
    pipeline._rw_means = np.asarray(pipeline.named_steps["prep"].transform(X)).mean(axis=0)


def _linear_effects(
    pipeline: Pipeline, X: pd.DataFrame, schema: DataSchema, coef: np.ndarray, means: np.ndarray
) -> np.ndarray:
    prep = pipeline.named_steps["prep"]
    Z = np.asarray(prep.transform(X), dtype=np.float64)
    contrib = (Z - means) * coef
    out_names = list(prep.get_feature_names_out())
    effects = np.zeros((len(X), len(schema.features)))
    for j, feature in enumerate(schema.features):
        cols = [
            k
            for k, n in enumerate(out_names)
            if _belongs(n, feature, feature in schema.categorical)
        ]
        if cols:
            effects[:, j] = contrib[:, cols].sum(axis=1)
    return effects


def _belongs(out_name: str, feature: str, categorical: bool) -> bool:
    """Does a transformed column (``num__x``, ``cat__x_value``, ``missingindicator_x``) come from ``feature``?"""
    name = out_name.split("__", 1)[-1]
    if categorical:
        return name.startswith(feature + "_")
    return name in (feature, f"missingindicator_{feature}")


def _occlusion(
    pipeline: Pipeline, X: pd.DataFrame, reference: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Risk drop when each feature takes its typical value: one stacked predict call."""
    import pandas as pd

    n, cols = len(X), list(X.columns)
    blocks = [X]
    for col in cols:
        swapped = X.copy()
        swapped[col] = pd.Series([reference.get(col)] * n, index=X.index, dtype=X[col].dtype)
        blocks.append(swapped)
    risk = pipeline.predict_proba(pd.concat(blocks, ignore_index=True))[:, 1].reshape(
        len(cols) + 1, n
    )
    return risk[0], (risk[0] - risk[1:]).T


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value

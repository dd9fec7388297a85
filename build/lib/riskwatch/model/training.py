"""Pure training: build one scikit-learn Pipeline per model family and fit it by a plan.

A fitted model is ONE Pipeline (typing by the contract, preprocessing, calibrated estimator and
an optional shift of its intercept to the newest month), so serving can never differ from
training. A :class:`Plan` holds everything needed to fit the same model again on other rows
(the refit after the gate). ``course`` reproduces the course's model exactly
(LogisticRegression on the raw numeric columns, no scaling).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

from riskwatch.model import explain

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from riskwatch.schema import DataSchema

GBM_DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.06,
    "max_iter": 300,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
}


@dataclass(frozen=True)
class Plan:
    """How to fit a model: family, parameters, calibration and the weight of recent months."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    calibration: str = "none"
    half_life: float | None = None  # recency half-life in snapshots; None: all months alike
    recalibrate: bool = False  # shift the intercept so the newest month's rate is matched
    seed: int = 0

    def describe(self) -> str:
        """The plan in words (model card)."""
        parts = [self.kind]
        if self.params:
            parts.append(", ".join(f"{k}={v}" for k, v in sorted(self.params.items())))
        parts.append(f"calibration {self.calibration}")
        parts.append(
            "all months weighted alike"
            if self.half_life is None
            else f"recency half-life {self.half_life:g} snapshot(s)"
        )
        if self.recalibrate:
            parts.append("intercept matched to the newest month")
        return "; ".join(parts)


@dataclass
class Fitted:
    """A fitted pipeline and how it came to be."""

    pipeline: Pipeline
    plan: Plan
    params: dict[str, Any]
    calibration: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def kind(self) -> str:
        """The model family."""
        return self.plan.kind


class ContractTypes(TransformerMixin, BaseEstimator):
    """The first step of every pipeline: the contract's features, typed as in training.

    Numbers become float (unparseable or missing: NaN); categories become text with surrounding
    spaces removed and the null tokens (``""``, ``NA``, ``null``...) as missing, so a raw frame
    from a file, the API or the dataset is scored exactly as the training rows were.
    """

    def __init__(self, features: tuple[str, ...] = (), categorical: tuple[str, ...] = ()) -> None:
        self.features = features
        self.categorical = categorical

    def fit(self, X: Any, y: Any = None) -> ContractTypes:
        """Nothing to learn; returns self."""
        self.n_features_out_ = len(self.features)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The typed feature columns of ``X``."""
        return typed_features(X, self.features, self.categorical)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The feature names, in order."""
        return np.asarray(list(self.features), dtype=object)


def typed_features(
    frame: pd.DataFrame, features: Sequence[str], categorical: Sequence[str]
) -> pd.DataFrame:
    """The ``features`` of ``frame`` in order: numbers as float, categories as text (null tokens
    and blanks missing)."""
    import pandas as pd

    from riskwatch.schema import NULL_TOKENS

    out: dict[str, Any] = {}
    for col in features:
        values = frame[col]
        if col in categorical:
            text = values.astype("string").str.strip()
            text = text.mask(text.isin(NULL_TOKENS))
            out[col] = text.astype("object").where(text.notna(), np.nan).to_numpy()
            continue
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            values = pd.to_numeric(values, errors="coerce")
        out[col] = values.astype("float64").to_numpy()
    return pd.DataFrame(out, index=frame.index)


def build(
    kind: str, schema: DataSchema, *, seed: int = 0, params: dict[str, Any] | None = None
) -> Pipeline:
    """An unfitted Pipeline ``types -> prep -> model`` for a model family."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in schema.features if c not in schema.categorical]
    categorical = [c for c in schema.features if c in schema.categorical]
    types = ContractTypes(tuple(schema.features), tuple(categorical))
    if kind == "course":  # the course: raw numeric columns, no scaling, liblinear as in its era
        prep = ColumnTransformer([("num", "passthrough", numeric)], remainder="drop")
        model: Any = LogisticRegression(C=1.0, random_state=0, solver="liblinear")
        return Pipeline([("types", types), ("prep", prep), ("model", model)])
    steps = []
    if numeric:
        num = [SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)]
        if kind == "logistic":
            num.append(StandardScaler())
        steps.append(("num", make_pipeline(*num), numeric))
    if categorical:
        steps.append(
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=False
                    ),
                ),
                categorical,
            )
        )
    prep = ColumnTransformer(steps, remainder="drop", verbose_feature_names_out=True)
    if kind == "logistic":
        model = LogisticRegression(max_iter=2000, random_state=seed, **{"C": 1.0, **(params or {})})
    elif kind == "gradient_boosting":
        model = HistGradientBoostingClassifier(
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=20,
            random_state=seed,
            **{**GBM_DEFAULTS, **(params or {})},
        )
    else:
        raise ValueError(f"unknown model kind {kind!r}")
    return Pipeline([("types", types), ("prep", prep), ("model", model)])


def cv_folds(y: np.ndarray, wanted: int) -> int:
    """Folds that the smaller class can fill (0 when cross-validation is impossible)."""
    smaller = int(min(y.sum(), len(y) - y.sum()))
    folds = min(wanted, smaller)
    return folds if folds >= 2 else 0


def recency_weights(snapshots: pd.Series | None, half_life: float | None) -> np.ndarray | None:
    """Weights halving every ``half_life`` snapshots back from the newest (None: equal weights)."""
    if half_life is None or snapshots is None:
        return None
    ranks = snapshots.rank(method="dense", ascending=False).to_numpy(dtype=np.float64) - 1.0
    return np.power(0.5, ranks / half_life)


def fit(
    frame: pd.DataFrame,
    y: np.ndarray,
    schema: DataSchema,
    plan: Plan,
    *,
    folds: int = 5,
) -> Fitted:
    """Fit and calibrate one Pipeline on ``frame``'s features as ``plan`` says.

    Raises:
        DataError: the labels hold one class only.
    """
    from sklearn.calibration import CalibratedClassifierCV

    started = time.perf_counter()
    if len(np.unique(y)) < 2:
        from riskwatch.errors import DataError

        raise DataError(
            f"training data has only one class ({int(y[0]) if len(y) else 'none'}): "
            "a model needs clients who left and clients who stayed"
        )
    X = frame[list(schema.features)]
    snapshots = frame[schema.snapshot_column] if schema.snapshot_column in frame.columns else None
    weights = recency_weights(snapshots, plan.half_life)
    pipe = build(plan.kind, schema, seed=plan.seed, params=plan.params)
    method = "none" if plan.kind == "course" else plan.calibration
    n_folds = cv_folds(y, min(folds, 5))
    calibration: dict[str, Any] = {"method": method}
    if method != "none" and n_folds >= 2 and min(y.sum(), len(y) - y.sum()) >= 2 * n_folds:
        model = pipe.named_steps["model"]
        pipe.steps[-1] = (
            "model",
            CalibratedClassifierCV(model, method=method, cv=n_folds, ensemble=False),
        )
        calibration["folds"] = n_folds
    elif method != "none":
        calibration = {
            "method": "none",
            "requested": method,
            "why": "too few rows of the smaller class to calibrate by cross-validation",
        }
    if weights is None:
        pipe.fit(X, y)
    else:
        pipe.fit(X, y, model__sample_weight=weights)
    if plan.recalibrate and snapshots is not None:
        newest = (snapshots == snapshots.max()).to_numpy()
        offset = intercept_shift(pipe.predict_proba(X.loc[newest])[:, 1], y[newest])
        pipe.steps[-1] = ("model", ShiftedClassifier(pipe.steps[-1][1], offset))
        calibration["intercept_shift"] = round(offset, 6)
    return Fitted(
        pipeline=pipe,
        plan=plan,
        params=_params(pipe),
        calibration=calibration,
        baseline={
            "typical": explain.typical_values(
                typed_features(X, schema.features, schema.categorical), schema
            ),
            "means": explain.linear_baseline(pipe, X),
        },
        seconds=time.perf_counter() - started,
    )


def intercept_shift(p: np.ndarray, y: np.ndarray) -> float:
    """The logit offset that makes the mean of ``p`` equal the observed rate of ``y``."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    target = float(np.mean(y)) if len(y) else float(np.mean(p))
    target = min(max(target, 1e-4), 1 - 1e-4)
    z = np.log(p / (1 - p))
    lo, hi = -10.0, 10.0
    for _ in range(60):  # bisection: the mean is increasing in the offset
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(z + mid)))) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


class ShiftedClassifier(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose log-odds are shifted by a constant (calibration in the large)."""

    def __init__(self, estimator: Any = None, offset: float = 0.0) -> None:
        self.estimator = estimator
        self.offset = offset

    @property
    def classes_(self) -> np.ndarray:
        """The wrapped classifier's classes."""
        return np.asarray(self.estimator.classes_)

    def fit(self, X: Any, y: Any = None) -> ShiftedClassifier:
        """Already fitted: returns self."""
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """The wrapped probabilities with their log-odds shifted by ``offset``."""
        p = np.clip(self.estimator.predict_proba(X)[:, 1], 1e-12, 1 - 1e-12)
        shifted = 1 / (1 + np.exp(-(np.log(p / (1 - p)) + self.offset)))
        return np.column_stack([1 - shifted, shifted])

    def predict(self, X: Any) -> np.ndarray:
        """The class with the higher shifted probability."""
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def __sklearn_is_fitted__(self) -> bool:
        return True


def _params(pipe: Pipeline) -> dict[str, Any]:
    model = pipe.named_steps["model"]
    while hasattr(model, "estimator") and model.estimator is not None:
        model = model.estimator
    return {
        "estimator": type(model).__name__,
        **{
            k: v
            for k, v in model.get_params().items()
            if isinstance(v, int | float | str | bool | None)
        },
    }

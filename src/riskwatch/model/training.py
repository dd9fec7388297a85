"""Pure training: build one scikit-learn Pipeline per model family, choose among them, fit.

A fitted model is ONE Pipeline (preprocessing + calibrated estimator), so serving can never
differ from training. ``course`` reproduces the course's model exactly (LogisticRegression on the
raw numeric columns, no scaling); ``auto`` chooses between ``logistic`` and ``gradient_boosting``
by cross-validated ROC AUC / PR AUC within a time budget and records why.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from riskwatch.model import explain

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from riskwatch.config import TrainingSettings
    from riskwatch.schema import DataSchema

CANDIDATES = ("logistic", "gradient_boosting")
CV_ROWS = 20_000  # cross-validation for model choice runs on at most this many rows


@dataclass
class Fitted:
    """A fitted pipeline and how it came to be."""

    pipeline: Pipeline
    kind: str
    params: dict[str, Any]
    selection: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


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


def build(kind: str, schema: DataSchema, *, seed: int = 0) -> Pipeline:
    """An unfitted Pipeline ``prep -> model`` for a model family."""
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
        model = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    elif kind == "gradient_boosting":
        model = HistGradientBoostingClassifier(
            learning_rate=0.06,
            max_iter=300,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=20,
            random_state=seed,
        )
    else:
        raise ValueError(f"unknown model kind {kind!r}")
    return Pipeline([("types", types), ("prep", prep), ("model", model)])


def cv_folds(y: np.ndarray, wanted: int) -> int:
    """Folds that the smaller class can fill (0 when cross-validation is impossible)."""
    smaller = int(min(y.sum(), len(y) - y.sum()))
    folds = min(wanted, smaller)
    return folds if folds >= 2 else 0


def choose(
    X: pd.DataFrame, y: np.ndarray, schema: DataSchema, cfg: TrainingSettings
) -> dict[str, Any]:
    """Cross-validate the candidates and pick the best by ``cfg.selection_metric``."""
    from sklearn.model_selection import StratifiedKFold, cross_validate

    folds = cv_folds(y, cfg.cv_folds)
    if folds == 0:
        return {
            "winner": "logistic",
            "why": "too few rows of the smaller class to cross-validate; "
            "logistic regression is the safer choice on tiny data",
            "scores": {},
        }
    if len(X) > CV_ROWS:
        rng = np.random.default_rng(cfg.seed)
        pick = np.sort(rng.choice(len(X), CV_ROWS, replace=False))
        X, y = X.iloc[pick], y[pick]
    started, scores, skipped = time.perf_counter(), {}, []
    for kind in CANDIDATES:
        if time.perf_counter() - started > cfg.time_budget_seconds:
            skipped.append(kind)
            continue
        res = cross_validate(
            build(kind, schema, seed=cfg.seed),
            X,
            y,
            cv=StratifiedKFold(folds, shuffle=True, random_state=cfg.seed),
            scoring=("roc_auc", "average_precision"),
        )
        scores[kind] = {
            "roc_auc": float(np.mean(res["test_roc_auc"])),
            "roc_auc_std": float(np.std(res["test_roc_auc"])),
            "average_precision": float(np.mean(res["test_average_precision"])),
            "seconds": float(np.sum(res["fit_time"]) + np.sum(res["score_time"])),
        }
    metric = cfg.selection_metric
    winner = max(scores, key=lambda k: scores[k][metric])
    ranked = sorted(scores, key=lambda k: -scores[k][metric])
    why = f"highest cross-validated {metric} ({scores[winner][metric]:.4f}, {folds} folds, {len(X)} rows)"
    if len(ranked) > 1:
        other = ranked[1]
        why += f" vs {other} {scores[other][metric]:.4f}"
    if skipped:
        why += f"; not tried within the {cfg.time_budget_seconds:g} s budget: {', '.join(skipped)}"
    return {"winner": winner, "why": why, "scores": scores, "folds": folds, "metric": metric}


def fit(frame: pd.DataFrame, y: np.ndarray, schema: DataSchema, cfg: TrainingSettings) -> Fitted:
    """Choose (if ``auto``), fit and calibrate one Pipeline on ``frame``'s features."""
    from sklearn.calibration import CalibratedClassifierCV

    started = time.perf_counter()
    if len(np.unique(y)) < 2:
        from riskwatch.errors import DataError

        raise DataError(
            f"training data has only one class ({int(y[0]) if len(y) else 'none'}): "
            "a model needs clients who left and clients who stayed"
        )
    X = frame[list(schema.features)]
    selection = (
        choose(X, y, schema, cfg)
        if cfg.model == "auto"
        else {"winner": cfg.model, "why": "configured"}
    )
    kind = selection["winner"]
    pipe = build(kind, schema, seed=cfg.seed)
    method = "none" if kind == "course" else cfg.calibration
    folds = cv_folds(y, min(cfg.cv_folds, 5))
    calibration: dict[str, Any] = {"method": method}
    if method != "none" and folds >= 2 and min(y.sum(), len(y) - y.sum()) >= 2 * folds:
        model = pipe.named_steps["model"]
        pipe.steps[-1] = (
            "model",
            CalibratedClassifierCV(model, method=method, cv=folds, ensemble=False),
        )
        calibration["folds"] = folds
    elif method != "none":
        calibration = {
            "method": "none",
            "requested": method,
            "why": "too few rows of the smaller class to calibrate by cross-validation",
        }
    pipe.fit(X, y)
    return Fitted(
        pipeline=pipe,
        kind=kind,
        params=_params(pipe),
        selection=selection,
        calibration=calibration,
        baseline={
            "typical": explain.typical_values(
                typed_features(X, schema.features, schema.categorical), schema
            ),
            "means": explain.linear_baseline(pipe, X),
        },
        seconds=time.perf_counter() - started,
    )


def _params(pipe: Pipeline) -> dict[str, Any]:
    model = pipe.named_steps["model"]
    inner = getattr(model, "estimator", model)
    return {
        "estimator": type(inner).__name__,
        **{
            k: v
            for k, v in inner.get_params().items()
            if isinstance(v, int | float | str | bool | None)
        },
    }

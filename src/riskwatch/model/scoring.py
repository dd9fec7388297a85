"""The one path from a fitted Pipeline to risks and factors, and its verified numpy fast path.

``pipeline.predict_proba(raw_frame)`` is the truth: the Pipeline's first step types the raw
columns by the contract, so a file, the API and the dataset are scored alike. The per-client
factors (:mod:`riskwatch.model.explain`) and the API's numpy fast path are derived here from that
one fitted object. The fast path replays the fitted preprocessing with numpy (scikit-learn's
ColumnTransformer costs milliseconds per call on one row) and is checked against the Pipeline on
probe rows when it is built; any difference, or any step it does not know, and the Pipeline is
used instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from riskwatch.model import explain

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.schema import DataSchema

MISSING = "(missing)"


def tree_ensemble(estimator: Any) -> bool:
    """Whether ``estimator`` (or the classifier it wraps) is a histogram gradient boosting."""
    inner = getattr(estimator, "estimator", None)
    return "HistGradientBoosting" in type(estimator).__name__ or (
        inner is not None and tree_ensemble(inner)
    )


def positive_proba(estimator: Any, Z: np.ndarray) -> np.ndarray:
    """P(positive) of the model step for transformed rows ``Z``.

    A tree ensemble predicts tree by tree over every row, reading one feature column at a
    time: it gets the rows column-major (the same probabilities, 1.7x faster at 1M rows).
    """
    if tree_ensemble(estimator) and len(Z) > 1:
        Z = np.asfortranarray(Z)
    return np.asarray(estimator.predict_proba(Z)[:, 1], dtype=np.float64)


@dataclass
class LoadedModel:
    """A verified, loaded model version, ready to score."""

    version: int
    pipeline: Any
    schema: DataSchema
    card: dict[str, Any]
    threshold: float
    baseline: dict[str, Any] = field(default_factory=dict)

    @property
    def typical(self) -> dict[str, Any]:
        """The typical value of each feature in the training rows."""
        return dict(self.baseline.get("typical") or {})

    def risk(self, frame: pd.DataFrame) -> np.ndarray:
        """P(positive) for each row of ``frame`` (raw columns; extra columns are ignored)."""
        if len(frame) == 0:
            return np.empty(0)
        # what Pipeline.predict_proba does, with the model step's input laid out for it
        return positive_proba(self.pipeline.steps[-1][1], self.pipeline[:-1].transform(frame))

    def risk_and_factors(
        self, frame: pd.DataFrame, top: int = 3
    ) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
        """Risk and the top risk-raising factors of each row, with as few model calls as possible."""
        import pandas as pd

        from riskwatch.model.training import typed_features

        schema = self.schema
        if len(frame) == 0:
            return np.empty(0), []
        X = typed_features(frame, schema.features, schema.categorical)
        coef, means = explain.linear_coefficients(self.pipeline), self.baseline.get("means")
        if coef is not None and means is not None:
            Z = explain.transformed(self.pipeline, X)
            risk = positive_proba(self.pipeline.steps[-1][1], Z)
            owner = explain.feature_owner(self.pipeline, schema)
            effects = explain.linear_effects(
                Z, coef, np.asarray(means), owner, len(schema.features)
            )
        else:
            typical = self.typical
            blocks = [X]
            for col in schema.features:
                swapped = X.copy()
                swapped[col] = pd.Series(
                    [typical.get(col)] * len(X), index=X.index, dtype=X[col].dtype
                )
                blocks.append(swapped)
            stacked = self.risk(pd.concat(blocks, ignore_index=True)).reshape(len(blocks), len(X))
            risk, effects = stacked[0], explain.occlusion_effects(stacked[0], stacked[1:])
        values = X.to_numpy(dtype=object)
        return risk, explain.top_factors(effects, values, list(schema.features), top)

    def factors(self, frame: pd.DataFrame, top: int = 3) -> list[list[dict[str, Any]]]:
        """The top risk-raising factors of each row."""
        return self.risk_and_factors(frame, top)[1]

    @property
    def known_categories(self) -> dict[str, set[str]]:
        """The categories the model saw in training, per categorical feature (cached)."""
        if "_known" not in self.__dict__:
            self.__dict__["_known"] = _known_categories(self.pipeline, self.schema)
        known: dict[str, set[str]] = self.__dict__["_known"]
        return known

    def unseen(self, records: Sequence[dict[str, Any]]) -> list[list[str]]:
        """Per record, the categorical columns whose value training never saw."""
        known = self.known_categories
        out = []
        for record in records:
            out.append(
                [
                    col
                    for col, values in known.items()
                    if (text := _text(record.get(col))) is not None and text not in values
                ]
            )
        return out

    @property
    def fast(self) -> FastScorer | None:
        """The verified numpy scoring path of this model (None: use the Pipeline)."""
        if "_fast" not in self.__dict__:
            self.__dict__["_fast"] = compile_scorer(self)
        return self.__dict__["_fast"]

    def score_records(
        self, records: Sequence[dict[str, Any]], top: int = 3
    ) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
        """Risk and factors of JSON-like records (the fast path when it is verified)."""
        fast = self.fast
        if fast is not None:
            return fast.score(records, top)
        import pandas as pd

        frame = pd.DataFrame.from_records(list(records), columns=list(self.schema.features))
        return self.risk_and_factors(frame, top)


class FastScorer:
    """Risk and factors from raw records without pandas; build with :func:`compile_scorer`."""

    def __init__(self, model: LoadedModel) -> None:
        schema = model.schema
        self.schema = schema
        self.estimator = model.pipeline.steps[-1][1]
        self.typical = model.typical
        self.numeric = [c for c in schema.features if c not in schema.categorical]
        self.categorical = [c for c in schema.features if c in schema.categorical]
        self.blocks: list[tuple[str, Any]] = []
        self.coef: np.ndarray | None = None
        self.means: np.ndarray | None = None
        self.owner = np.empty(0, dtype=np.int64)

    def arrays(self, records: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Numeric (float, NaN for missing) and categorical (object, None for missing) arrays."""
        num = np.array(
            [[_number(r.get(c)) for c in self.numeric] for r in records], dtype=np.float64
        )
        cat = np.array([[_text(r.get(c)) for c in self.categorical] for r in records], dtype=object)
        return (
            num.reshape(len(records), len(self.numeric)),
            cat.reshape(len(records), len(self.categorical)),
        )

    def transform(self, num: np.ndarray, cat: np.ndarray) -> np.ndarray:
        """The model step's input, computed as the fitted preprocessing would."""
        parts = []
        for kind, spec in self.blocks:
            if kind == "passthrough":
                parts.append(num)
            elif kind == "num":
                stats, indicator, mean, scale = spec
                mask = np.isnan(num)
                out = np.where(mask, stats, num)
                if len(indicator):
                    out = np.hstack([out, mask[:, indicator].astype(np.float64)])
                if mean is not None:
                    out = (out - mean) / scale
                parts.append(out)
            else:  # one-hot
                rows = np.arange(len(cat))
                cols = []
                for j, (lookup, width, infrequent_col) in enumerate(spec):
                    block = np.zeros((len(cat), width))
                    unknown = -1 if infrequent_col is None else infrequent_col
                    idx = np.fromiter(
                        (lookup.get(MISSING if v is None else v, unknown) for v in cat[:, j]),
                        dtype=np.int64,
                        count=len(cat),
                    )
                    hit = idx >= 0
                    block[rows[hit], idx[hit]] = 1.0
                    cols.append(block)
                parts.append(np.hstack(cols) if cols else np.empty((len(cat), 0)))
        return np.hstack(parts)

    def risk(self, Z: np.ndarray) -> np.ndarray:
        """P(positive) from transformed rows."""
        return positive_proba(self.estimator, Z)

    def score(
        self, records: Sequence[dict[str, Any]], top: int = 3
    ) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
        """Risk and the top risk-raising factors per record."""
        n = len(records)
        if n == 0:
            return np.empty(0), []
        num, cat = self.arrays(records)
        Z = self.transform(num, cat)
        names = list(self.schema.features)
        if self.coef is not None and self.means is not None:
            risk = self.risk(Z)
            effects = explain.linear_effects(Z, self.coef, self.means, self.owner, len(names))
        else:  # occlusion: every feature set to its typical value, all in one stacked call
            nums, cats = [num], [cat]
            for col in names:
                n2, c2 = num.copy(), cat.copy()
                if col in self.categorical:
                    c2[:, self.categorical.index(col)] = self.typical.get(col)
                else:
                    n2[:, self.numeric.index(col)] = self.typical.get(col, np.nan)
                nums.append(n2)
                cats.append(c2)
            stacked = self.risk(self.transform(np.vstack(nums), np.vstack(cats))).reshape(-1, n)
            risk, effects = stacked[0], explain.occlusion_effects(stacked[0], stacked[1:])
        columns = [
            num[:, self.numeric.index(c)]
            if c in self.numeric
            else cat[:, self.categorical.index(c)]
            for c in names
        ]
        values = list(zip(*columns, strict=True)) if columns else [()] * n
        return risk, explain.top_factors(effects, values, names, top)


def _number(value: Any) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _text(value: Any) -> str | None:
    from riskwatch.schema import NULL_TOKENS

    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return None if text in NULL_TOKENS else text


def _known_categories(pipeline: Any, schema: DataSchema) -> dict[str, set[str]]:
    prep = pipeline.named_steps.get("prep")
    for name, transformer, cols in getattr(prep, "transformers_", []):
        if name == "cat":
            enc = dict(transformer.steps)["onehotencoder"]
            return {
                col: {str(v) for v in cats if v != MISSING}
                for col, cats in zip(cols, enc.categories_, strict=True)
            }
    return {}


def compile_scorer(model: LoadedModel) -> FastScorer | None:
    """A verified fast scorer for ``model``, or None when it cannot be replayed exactly."""
    try:
        scorer = _build(model)
        if scorer is not None and not _verified(scorer, model):
            return None
        return scorer
    except Exception:  # an unknown structure: keep scikit-learn's path
        return None


def _build(model: LoadedModel) -> FastScorer | None:
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer

    pipeline = model.pipeline
    if [name for name, _ in pipeline.steps[:-1]] != ["types", "prep"]:
        return None
    prep = pipeline.named_steps["prep"]
    if not isinstance(prep, ColumnTransformer) or getattr(prep, "sparse_output_", False):
        return None
    scorer = FastScorer(model)
    for name, transformer, cols in prep.transformers_:
        if name == "remainder" or transformer == "drop":
            continue
        if transformer == "passthrough" or (
            isinstance(transformer, FunctionTransformer) and transformer.func is None
        ):
            if list(cols) != scorer.numeric:
                return None
            scorer.blocks.append(("passthrough", None))
        elif name == "num":
            steps = dict(transformer.steps)
            if list(cols) != scorer.numeric or set(steps) - {"simpleimputer", "standardscaler"}:
                return None
            imp = steps["simpleimputer"]
            indicator = imp.indicator_.features_ if imp.indicator_ is not None else []
            scaler = steps.get("standardscaler")
            scorer.blocks.append(
                (
                    "num",
                    (
                        imp.statistics_.astype(float),
                        np.asarray(indicator, dtype=int),
                        None if scaler is None else scaler.mean_,
                        None if scaler is None else scaler.scale_,
                    ),
                )
            )
        elif name == "cat":
            enc = dict(transformer.steps)["onehotencoder"]
            if list(cols) != scorer.categorical or enc.drop is not None:
                return None
            specs = []
            for j, cats in enumerate(enc.categories_):
                rare = enc.infrequent_categories_[j]
                infrequent = set(rare if rare is not None else [])
                frequent = [c for c in cats if c not in infrequent]
                lookup: dict[Any, int | None] = {c: k for k, c in enumerate(frequent)}
                infrequent_col = len(frequent) if infrequent else None
                for c in infrequent:
                    lookup[c] = infrequent_col
                specs.append((lookup, len(frequent) + (1 if infrequent else 0), infrequent_col))
            scorer.blocks.append(("onehot", specs))
        else:
            return None
    coef, means = explain.linear_coefficients(pipeline), model.baseline.get("means")
    if coef is not None and means is not None:
        owner = explain.feature_owner(pipeline, model.schema)
        if len(owner) and owner.min() < 0:
            return None
        scorer.coef, scorer.means, scorer.owner = coef, np.asarray(means), owner
    return scorer


def _verified(scorer: FastScorer, model: LoadedModel) -> bool:
    """Does the compiled transform equal the Pipeline's on probe rows?

    The probes are the typical client, the same client with each known category in turn (so every
    one-hot column is exercised), a client with every value missing, and one with unseen values.
    """
    import pandas as pd

    schema = model.schema
    typical = {c: scorer.typical.get(c) for c in schema.features}
    rows: list[dict[str, Any]] = [typical, dict.fromkeys(schema.features)]
    rows.append({c: ("never-seen" if c in schema.categorical else 1.0) for c in schema.features})
    onehot: list[Any] = next((spec for kind, spec in scorer.blocks if kind == "onehot"), [])
    for column, (lookup, _, _) in zip(scorer.categorical, onehot, strict=False):
        rows += [{**typical, column: None if value == MISSING else value} for value in lookup]
    num, cat = scorer.arrays(rows)
    fast = scorer.transform(num, cat)
    frame = pd.DataFrame.from_records(rows, columns=list(schema.features))
    slow = explain.transformed(model.pipeline, frame)
    return fast.shape == slow.shape and bool(np.allclose(fast, slow, equal_nan=True))

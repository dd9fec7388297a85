"""A lean scoring path for the API: the fitted preprocessing replayed with numpy.

scikit-learn's ColumnTransformer costs milliseconds per call on one row (pandas column selection,
validation). For the pipelines riskwatch builds (median imputation with missing indicators and
optional scaling for numbers; constant imputation and one-hot with an infrequent bucket for
categories; or the course's passthrough) the same arithmetic is a few numpy operations. The
compiled transform is checked against scikit-learn's own on probe rows when it is built; any
difference, or any step it does not know, and the caller keeps the scikit-learn path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from riskwatch.schema import DataSchema

MISSING = "(missing)"


class FastScorer:
    """Risk and factors from raw records without pandas; build with :func:`compile_scorer`."""

    def __init__(self, pipeline: Any, schema: DataSchema, reference: dict[str, Any]) -> None:
        self.pipeline, self.schema = pipeline, schema
        self.model = pipeline.named_steps["model"]
        self.numeric = [c for c in schema.features if c not in schema.categorical]
        self.categorical = [c for c in schema.features if c in schema.categorical]
        self.blocks: list[tuple[str, Any]] = []
        self.reference = reference
        self.coef: np.ndarray | None = None
        self.means: np.ndarray | None = None
        self.owner = np.empty(0, dtype=int)

    # -- inputs ----------------------------------------------------------------------------
    def arrays(self, records: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Numeric (float, NaN for missing) and categorical (object, None for missing) arrays."""
        num = np.array(
            [[_number(r.get(c)) for c in self.numeric] for r in records], dtype=np.float64
        )
        cat = np.array([[_text(r.get(c)) for c in self.categorical] for r in records], dtype=object)
        return num.reshape(len(records), len(self.numeric)), cat.reshape(
            len(records), len(self.categorical)
        )

    # -- transform -------------------------------------------------------------------------
    def transform(self, num: np.ndarray, cat: np.ndarray) -> np.ndarray:
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
                cols = []
                rows = np.arange(len(cat))
                for j, (lookup, width, infrequent_col) in enumerate(spec):
                    block = np.zeros((len(cat), width))
                    missing = -1 if infrequent_col is None else infrequent_col
                    idx = np.fromiter(
                        (lookup.get(MISSING if v is None else v, missing) for v in cat[:, j]),
                        dtype=np.int64,
                        count=len(cat),
                    )
                    hit = idx >= 0
                    block[rows[hit], idx[hit]] = 1.0
                    cols.append(block)
                parts.append(np.hstack(cols) if cols else np.empty((len(cat), 0)))
        return np.hstack(parts)

    def risk(self, Z: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict_proba(Z)[:, 1])

    # -- risk and factors ------------------------------------------------------------------
    def score(
        self, records: Sequence[dict[str, Any]], top: int = 3
    ) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
        """Risk and the top risk-raising factors per record."""
        from riskwatch.explain import _plain

        num, cat = self.arrays(records)
        n = len(records)
        if n == 0:
            return np.empty(0), []
        Z = self.transform(num, cat)
        if self.coef is not None:
            risk = self.risk(Z)
            contrib = (Z - self.means) * self.coef
            effects = np.zeros((n, len(self.schema.features)))
            np.add.at(effects.T, self.owner, contrib.T)
        else:  # occlusion: every feature set to its typical value, all in one stacked call
            nums, cats = [num], [cat]
            for col in self.schema.features:
                n2, c2 = num.copy(), cat.copy()
                if col in self.categorical:
                    c2[:, self.categorical.index(col)] = self.reference.get(col)
                else:
                    n2[:, self.numeric.index(col)] = self.reference.get(col, np.nan)
                nums.append(n2)
                cats.append(c2)
            all_risk = self.risk(self.transform(np.vstack(nums), np.vstack(cats))).reshape(-1, n)
            risk = all_risk[0]
            effects = (all_risk[0] - all_risk[1:]).T
        names = list(self.schema.features)
        raw = {
            c: (
                num[:, self.numeric.index(c)]
                if c in self.numeric
                else cat[:, self.categorical.index(c)]
            )
            for c in names
        }
        out = []
        for i in range(n):
            order = np.argsort(-effects[i])[:top]
            out.append(
                [
                    {
                        "feature": names[j],
                        "value": _plain(raw[names[j]][i]),
                        "effect": round(float(effects[i, j]), 4),
                    }
                    for j in order
                    if effects[i, j] > 0
                ]
            )
        return risk, out


def _number(value: Any) -> float:
    if value is None:
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)


def compile_scorer(
    pipeline: Any, schema: DataSchema, reference: dict[str, Any]
) -> FastScorer | None:
    """A verified fast scorer for ``pipeline``, or None when it cannot be replayed exactly."""
    try:
        scorer = _build(pipeline, schema, reference)
        if scorer is not None and not _verified(scorer, pipeline, schema):
            return None
        return scorer
    except Exception:  # an unknown structure: keep scikit-learn's path
        return None


def _build(pipeline: Any, schema: DataSchema, reference: dict[str, Any]) -> FastScorer | None:
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer

    prep = pipeline.named_steps["prep"]
    if not isinstance(prep, ColumnTransformer) or getattr(prep, "sparse_output_", False):
        return None
    scorer = FastScorer(pipeline, schema, reference)
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
            indicator = (
                imp.indicator_.features_ if imp.indicator_ is not None else np.empty(0, dtype=int)
            )
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
                infrequent = set(
                    enc.infrequent_categories_[j]
                    if enc.infrequent_categories_[j] is not None
                    else []
                )
                frequent = [c for c in cats if c not in infrequent]
                lookup: dict[Any, int | None] = {c: k for k, c in enumerate(frequent)}
                infrequent_col = len(frequent) if infrequent else None
                for c in infrequent:
                    lookup[c] = infrequent_col
                specs.append((lookup, len(frequent) + (1 if infrequent else 0), infrequent_col))
            scorer.blocks.append(("onehot", specs))
        else:
            return None
    coef = getattr(_inner(pipeline.named_steps["model"]), "coef_", None)
    means = getattr(pipeline, "_rw_means", None)
    if coef is not None and means is not None:
        from riskwatch.explain import _belongs

        names = list(prep.get_feature_names_out())
        owner = [
            next(
                (
                    j
                    for j, f in enumerate(schema.features)
                    if _belongs(n, f, f in schema.categorical)
                ),
                -1,
            )
            for n in names
        ]
        if min(owner) < 0:
            return None
        scorer.coef, scorer.means, scorer.owner = (
            np.asarray(coef).ravel(),
            np.asarray(means),
            np.asarray(owner),
        )
    return scorer


def _inner(model: Any) -> Any:
    return (
        model.calibrated_classifiers_[0].estimator
        if hasattr(model, "calibrated_classifiers_")
        else model
    )


def _verified(scorer: FastScorer, pipeline: Any, schema: DataSchema) -> bool:
    """Does the compiled transform equal scikit-learn's on probe rows?

    The probes are the typical client, the same client with each known category in turn (so every
    one-hot column is exercised), a client with every value missing, and one with unseen values.
    """
    import pandas as pd

    from riskwatch.training import prepare

    typical = {c: scorer.reference.get(c) for c in schema.features}
    rows: list[dict[str, Any]] = [typical, dict.fromkeys(schema.features)]
    rows.append({c: ("never-seen" if c in schema.categorical else 1.0) for c in schema.features})
    onehot: list[Any] = next((spec for kind, spec in scorer.blocks if kind == "onehot"), [])
    for column, (lookup, _, _) in zip(scorer.categorical, onehot, strict=False):
        rows += [{**typical, column: None if value == MISSING else value} for value in lookup]
    num, cat = scorer.arrays(rows)
    fast = scorer.transform(num, cat)
    slow = np.asarray(
        pipeline.named_steps["prep"].transform(prepare(pd.DataFrame.from_records(rows), schema)),
        dtype=float,
    )
    return fast.shape == slow.shape and bool(np.allclose(fast, slow, equal_nan=True))

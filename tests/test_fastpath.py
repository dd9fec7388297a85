"""The API's numpy scoring path gives exactly what the scikit-learn pipeline gives."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from riskwatch.model.scoring import LoadedModel, compile_scorer
from riskwatch.model.training import Plan, fit
from tests.helpers import small_schema

SCHEMA = small_schema()


def _data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = rng.choice(["x", "y", "z", "rare"], n, p=[0.4, 0.3, 0.29, 0.01])
    a = rng.normal(0, 1, n)
    a[rng.random(n) < 0.1] = np.nan
    b = rng.gamma(2, 1, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(np.nan_to_num(a) + (k == "x") - 0.5 * b)))).astype(int)
    return pd.DataFrame({"id": [f"c{i}" for i in range(n)], "a": a, "b": b, "k": k, "y": y})


@pytest.mark.parametrize("kind", ["logistic", "gradient_boosting", "course"])
def test_fast_path_matches_the_pipeline(kind: str) -> None:
    train = _data(1500, 0)
    schema = SCHEMA if kind != "course" else replace(SCHEMA, categorical=())
    if kind == "course":
        train = train.fillna({"a": 0.0})
    plan = Plan(kind=kind, calibration="none" if kind == "course" else "sigmoid")
    fitted = fit(train, train["y"].to_numpy(), schema, plan)
    model = LoadedModel(1, fitted.pipeline, schema, {}, 0.5, fitted.baseline)
    fast = compile_scorer(model)
    assert fast is not None
    test = _data(300, 1)
    if kind == "course":
        test = test.fillna({"a": 0.0})
    test.loc[0, "k"] = "never-seen"
    test.loc[1, "k"] = None
    records = test.astype(object).where(test.notna(), None).to_dict(orient="records")
    risk_fast, why_fast = fast.score(records)
    risk_slow, why_slow = model.risk_and_factors(test)
    np.testing.assert_allclose(risk_slow, model.risk(test), rtol=1e-12)
    np.testing.assert_allclose(risk_fast, risk_slow, rtol=1e-9, atol=1e-12)
    assert [[f["feature"] for f in r] for r in why_fast] == [
        [f["feature"] for f in r] for r in why_slow
    ]


def test_unknown_structure_falls_back() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = Pipeline([("prep", StandardScaler()), ("model", LogisticRegression())])
    assert compile_scorer(LoadedModel(1, pipe, SCHEMA, {}, 0.5, {})) is None

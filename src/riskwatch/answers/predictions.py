"""What is this client's risk? Scores for clients sent by a person (API body, CSV, a file).

Shared by ``POST /prediction``, ``POST /prediction/csv`` and ``riskwatch predict`` so that a client
gets the same risk, label and factors whichever way it is asked. Reads nothing and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from riskwatch.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from riskwatch.model.scoring import LoadedModel


def missing_columns(model: LoadedModel, columns: Sequence[str]) -> list[str]:
    """The model's feature columns absent from ``columns``."""
    have = set(columns)
    return [c for c in model.schema.features if c not in have]


def predict_records(
    model: LoadedModel, records: Sequence[dict[str, Any]], threshold: float
) -> dict[str, Any]:
    """Risk, label, rank and factors of JSON records (the numpy fast path when verified)."""
    risk, factors = model.score_records(records, top=3)
    ids = [r.get(model.schema.id_column) for r in records]
    return answer(model, ids, risk, factors, threshold, model.unseen(records))


def predict_frame(model: LoadedModel, frame: pd.DataFrame, threshold: float) -> dict[str, Any]:
    """Risk, label, rank and factors of each row of ``frame``.

    Raises:
        DataError: a feature column is missing or there are no rows.
    """
    missing = missing_columns(model, list(frame.columns))
    if missing:
        raise DataError(f"missing column(s) {', '.join(map(repr, missing))}")
    if frame.empty:
        raise DataError("no rows to score")
    risk, factors = model.risk_and_factors(frame, top=3)
    id_col = model.schema.id_column
    ids = frame[id_col].tolist() if id_col in frame.columns else [None] * len(frame)
    cats = [c for c in model.known_categories if c in frame.columns]
    unseen = model.unseen(frame[cats].to_dict(orient="records")) if cats else None
    return answer(model, ids, risk, factors, threshold, unseen)


def answer(
    model: LoadedModel,
    ids: Sequence[Any],
    risk: np.ndarray,
    factors: Sequence[list[dict[str, Any]]],
    threshold: float,
    unseen: Sequence[list[str]] | None = None,
) -> dict[str, Any]:
    """The response body: risk, label, rank (1 = highest in this request), factors, and the
    categorical columns with a value training never saw."""
    import numpy as np

    schema = model.schema
    order = np.argsort(-risk, kind="stable")
    ranks = np.empty(len(risk), dtype=np.int64)
    ranks[order] = np.arange(1, len(risk) + 1)
    positive, negative = str(schema.positive_label), str(schema.negative_label)
    out = []
    for i, p in enumerate(risk.tolist()):
        at_risk = p >= threshold
        out.append(
            {
                "id": None if ids[i] is None or ids[i] != ids[i] else str(ids[i]),
                "risk": round(p, 6),
                "label": positive if at_risk else negative,
                "at_risk": at_risk,
                "rank": int(ranks[i]),
                "factors": factors[i],
                "unseen": list(unseen[i]) if unseen else [],
            }
        )
    return {"model_version": model.version, "threshold": threshold, "predictions": out}

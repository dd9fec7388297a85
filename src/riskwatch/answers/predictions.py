"""What is this client's risk? Scores for clients sent by a person (API body, CSV, a file).

Shared by ``POST /prediction``, ``POST /prediction/csv`` and ``riskwatch predict`` so that a client
gets the same risk, label and factors whichever way it is asked. Reads nothing and writes nothing.

Numbers are strict everywhere: a numeric feature is a finite number or missing. In a file, a cell
holding a null token (``""``, ``NA``, ``null``...) is missing and any other text must parse as a
finite number, so ``inf``, ``1e309``, ``true`` or ``12 apples`` are refused with the column and
row named, never scored as missing and never a crash.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from riskwatch.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from riskwatch.model.scoring import LoadedModel

T = TypeVar("T")
LISTED = 5  # names shown in a message before "and N more"
HUGE = 1e15  # beyond this, a value that breaks the model's arithmetic is the input's fault


def missing_columns(model: LoadedModel, columns: Sequence[str]) -> list[str]:
    """The model's feature columns absent from ``columns``."""
    have = set(columns)
    return [c for c in model.schema.features if c not in have]


def unknown_columns(model: LoadedModel, columns: Sequence[str]) -> list[str]:
    """Columns that are neither the id nor a feature of ``model`` (refused, like the JSON route)."""
    known = {model.schema.id_column, *model.schema.features}
    return [str(c) for c in columns if c not in known]


def names(items: Sequence[str]) -> str:
    """``'a', 'b' and 3 more``: a bounded, quoted list for a one-line message."""
    shown = ", ".join(repr(_short(i)) for i in items[:LISTED])
    more = len(items) - LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def checked_frame(
    model: LoadedModel, frame: pd.DataFrame, *, where: str, extra: Sequence[str] = ()
) -> pd.DataFrame:
    """``frame`` with each numeric feature (and each ``extra`` column present) as finite floats.

    Raises:
        DataError: a cell is not a finite number, naming ``where``, the column and the row.
    """
    import numpy as np
    import pandas as pd

    from riskwatch.schema import NULL_TOKENS, ROW_COLUMN

    schema = model.schema
    numeric = [c for c in schema.features if c not in schema.categorical]
    numeric += [c for c in extra if c in frame.columns and c not in numeric]
    rows = frame[ROW_COLUMN] if ROW_COLUMN in frame.columns else pd.Series(range(1, len(frame) + 1))
    out = frame.copy()
    for col in numeric:
        values = frame[col]
        if pd.api.types.is_bool_dtype(values):
            raise DataError(f"{where}: column {col!r} holds true/false values, not numbers")
        if pd.api.types.is_numeric_dtype(values):
            parsed = values.astype("float64")
            bad = ~np.isfinite(parsed) & parsed.notna()
        else:
            text = values.astype("string").str.strip()
            missing = text.isna() | text.isin(NULL_TOKENS)
            parsed = pd.to_numeric(text.mask(missing), errors="coerce").astype("float64")
            bad = ~missing & ~np.isfinite(parsed.fillna(np.inf))
        if bad.any():
            at = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{where}: column {col!r}, row {int(rows.iloc[at])}: "
                f"{_short(str(values.iloc[at]))!r} is not a finite number"
            )
        out[col] = parsed.to_numpy()
    return out


def predict_records(
    model: LoadedModel, records: Sequence[dict[str, Any]], threshold: float
) -> dict[str, Any]:
    """Risk, label, rank and factors of JSON records (the numpy fast path when verified)."""
    risk, factors = _guarded(lambda: model.score_records(records, top=3), model, records, "records")
    ids = [r.get(model.schema.id_column) for r in records]
    return answer(model, ids, risk, factors, threshold, model.unseen(records))


def predict_frame(
    model: LoadedModel, frame: pd.DataFrame, threshold: float, *, where: str = "file"
) -> dict[str, Any]:
    """Risk, label, rank and factors of each row of ``frame`` (text or typed cells).

    Raises:
        DataError: a column is missing or unknown, a number is not finite, or there are no rows.
    """
    missing = missing_columns(model, list(frame.columns))
    if missing:
        raise DataError(f"{where}: missing column(s) {names(missing)}")
    unknown = unknown_columns(model, list(frame.columns))
    if unknown:
        raise DataError(
            f"{where}: unknown column(s) {names(unknown)} (send {model.schema.id_column!r} "
            "and the model's features only)"
        )
    if frame.empty:
        raise DataError(f"{where}: no rows to score")
    typed = checked_frame(model, frame, where=where)
    risk, factors = _guarded(
        lambda: model.risk_and_factors(typed, top=3),
        model,
        lambda: list(typed.to_dict("records")),
        where,
    )
    id_col = model.schema.id_column
    ids = frame[id_col].tolist() if id_col in frame.columns else [None] * len(frame)
    cats = [c for c in model.known_categories if c in frame.columns]
    unseen = model.unseen(frame[cats].to_dict(orient="records")) if cats else None
    return answer(model, ids, risk, factors, threshold, unseen)


def score_frame(model: LoadedModel, frame: pd.DataFrame, *, where: str) -> np.ndarray:
    """P(positive) per row of a checked frame (:func:`checked_frame`), for ``riskwatch predict``.

    Raises:
        DataError: a value is too large for the model's arithmetic.
    """

    def rows() -> list[dict[str, Any]]:
        return list(frame.to_dict("records"))

    return _guarded(lambda: (model.risk(frame), None), model, rows, where)[0]


def _guarded(
    score: Callable[[], tuple[np.ndarray, T]],
    model: LoadedModel,
    records: Sequence[dict[str, Any]] | Callable[[], Sequence[dict[str, Any]]],
    where: str,
) -> tuple[np.ndarray, T]:
    """Run ``score``; a finite but huge input that overflows the model becomes a DataError.

    Validated inputs are finite, so an overflow can only come from magnitudes such as 1e308
    after scaling. The record and column with the largest magnitude are named; with nothing
    huge in the input, the failure is a bug and is raised as it is.
    """
    import numpy as np

    try:
        risk, rest = score()
        if bool(np.isfinite(risk).all()) and _finite_effects(rest):
            return risk, rest
        failure: Exception = FloatingPointError("non-finite risk or factor effect")
    except (ValueError, FloatingPointError, OverflowError) as exc:
        failure = exc
    rows = records() if callable(records) else records
    culprit = _largest(model, rows)
    if culprit is None:
        raise failure
    i, col, value = culprit
    raise DataError(
        f"{where}.{i}.{col}: {value:g} is too large for model v{model.version} to score"
        if where == "records"
        else f"{where}: column {col!r}, row {i + 1}: {value:g} is too large for model "
        f"v{model.version} to score"
    ) from None


def _finite_effects(factors: Any) -> bool:
    """Are the factor effects (if any) finite numbers (JSON has no infinity)?"""
    if not isinstance(factors, list):
        return True
    return all(math.isfinite(f["effect"]) for row in factors for f in row)


def _largest(
    model: LoadedModel, records: Sequence[dict[str, Any]]
) -> tuple[int, str, float] | None:
    """(record index, column, value) of the largest numeric magnitude at or beyond HUGE."""
    numeric = [c for c in model.schema.features if c not in model.schema.categorical]
    best: tuple[int, str, float] | None = None
    for i, rec in enumerate(records):
        for col in numeric:
            value = rec.get(col)
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            if abs(value) >= HUGE and (best is None or abs(value) > abs(best[2])):
                best = (i, col, float(value))
    return best


def _short(text: str, limit: int = 40) -> str:
    """At most ``limit`` characters of a value or name, for messages."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


def scored_rows(model: LoadedModel, frame: pd.DataFrame, *, where: str) -> pd.DataFrame:
    """id, risk (and value_at_risk when the file has the value column) of each row of a file.

    One rule for both engines: ``riskwatch predict`` applies it to a whole file locally and to
    each partition on a cluster.

    Raises:
        DataError: a column is missing, or a cell is not a finite number (column and row named).
    """
    import pandas as pd

    schema = model.schema
    missing = [c for c in (schema.id_column, *schema.features) if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {', '.join(missing)}")
    value = schema.value_column if schema.value_column in frame.columns else None
    checked = checked_frame(model, frame, where=where, extra=[value] if value else [])
    risk = score_frame(model, checked, where=where)
    out = pd.DataFrame({"id": checked[schema.id_column].astype("string"), "risk": risk})
    if value:
        out["value_at_risk"] = out["risk"] * checked[value].to_numpy()
    return out


def ranked(scores: pd.DataFrame) -> pd.DataFrame:
    """Scores with a 1-based rank (highest risk first; ties in file order), sorted by it."""
    import numpy as np

    order = np.argsort(-scores["risk"].to_numpy(), kind="stable")  # one sort; ties keep order
    out = scores.iloc[order].reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    return out

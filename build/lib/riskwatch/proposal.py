"""Proposing a data contract from a sample of the user's data (``riskwatch init --from FILE``).

Pure: a DataFrame in, guesses out, each with the reason it was made, so a person can check them.
Nothing here is trusted silently: the proposal is written as a commented config to review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riskwatch.model.fairness import looks_sensitive

if TYPE_CHECKING:
    import pandas as pd

ID_NAME = re.compile(
    r"(^|_|\b)(id|key|uuid|no|number)$|customer|client|account|corporation|company", re.I
)
TARGET_NAME = re.compile(r"churn|exit|left|attrit|cancel|target|label|lost|leave|^y$|status", re.I)
DATE_NAME = re.compile(r"date|month|snapshot|period|as_of|asof|day|time", re.I)
VALUE_NAME = re.compile(r"value|revenue|balance|amount|mrr|arr|contract|spend|sales", re.I)
LEAK_NAME = re.compile(r"churn|exit|cancel|terminat|closed|end_date|left_on|attrit", re.I)
POSITIVE_WORDS = ("1", "yes", "y", "true", "churn", "churned", "exited", "left", "attrited")


@dataclass
class Proposal:
    """A proposed contract with a reason for every guess."""

    id_column: str | None = None
    target_column: str | None = None
    positive_label: Any = None
    negative_label: Any = None
    snapshot_column: str | None = None
    value_column: str | None = None
    exclude: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    sensitive: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)


def propose(frame: pd.DataFrame) -> Proposal:
    """Guess the contract of ``frame`` (a sample of the user's data)."""
    out = Proposal()
    n = len(frame)
    cols = list(frame.columns)
    unique = {c: frame[c].nunique(dropna=True) for c in cols}
    out.id_column = _pick_id(frame, unique)
    if out.id_column:
        out.reasons["id_column"] = f"{unique[out.id_column]} distinct values in {n} rows" + (
            " and an id-like name" if ID_NAME.search(out.id_column) else ""
        )
    binary = [c for c in cols if unique[c] == 2 and c != out.id_column]
    named = [c for c in binary if TARGET_NAME.search(c)]
    if named or binary:
        target = (named or binary)[-1]
        out.target_column = target
        values = [v for v in frame[target].dropna().unique().tolist()]
        pos = next((v for v in values if str(v).strip().lower() in POSITIVE_WORDS), None)
        if pos is None:  # the rarer class is usually the event (clients who left)
            pos = frame[target].value_counts().idxmin()
        out.positive_label = _plain(pos)
        out.negative_label = _plain(next(v for v in values if v != pos))
        rate = float((frame[target] == pos).mean())
        out.reasons["target_column"] = f"two values {values!r}" + (
            " and a name like churn/exit/status" if named else ""
        )
        out.reasons["positive_label"] = (
            f"{out.positive_label!r} ({rate:.1%} of rows) reads as the client having left"
        )
    for c in cols:
        if c in (out.id_column, out.target_column):
            continue
        if out.snapshot_column is None and DATE_NAME.search(c) and _dates(frame[c]):
            out.snapshot_column = c
            out.reasons["snapshot_column"] = (
                f"parses as dates with {unique[c]} distinct values: the date a record describes"
            )
        elif out.value_column is None and VALUE_NAME.search(c) and _numeric(frame[c]):
            out.value_column = c
            out.reasons["value_column"] = "a numeric money-like column: used for value at risk"
    special = {out.id_column, out.target_column, out.snapshot_column}
    for c in cols:
        if c in special:
            continue
        why = _exclusion(frame, c, unique[c], n, out.target_column)
        if why:
            out.exclude.append(c)
            out.reasons[f"exclude.{c}"] = why
            continue
        if not _numeric(frame[c]):
            out.categorical.append(c)
        if looks_sensitive([c]):
            out.sensitive.append(c)
            out.reasons[f"sensitive.{c}"] = (
                "looks like a protected attribute: check whether it may be used at all"
            )
    return out


def _pick_id(frame: pd.DataFrame, unique: dict[str, int]) -> str | None:
    n = len(frame)
    candidates = [c for c in frame.columns if n and unique[c] >= 0.95 * n]
    named = [c for c in candidates if ID_NAME.search(str(c))]
    return (named or candidates or [None])[0]


def _exclusion(frame: pd.DataFrame, col: str, unique: int, n: int, target: str | None) -> str:
    if unique <= 1:
        return "a single value: carries no information"
    if not _numeric(frame[col]) and unique > max(50, 0.05 * n):
        return f"text with {unique} distinct values in {n} rows: a name, identifier or free text"
    if _numeric(frame[col]) and unique == n and ID_NAME.search(col) is None:
        values = frame[col].dropna()
        if len(values) and (values.diff().dropna() == 1).mean() > 0.95:
            return "numbers counting up by one: a row number"
    if target and LEAK_NAME.search(col):
        return f"named like the outcome ({target!r}): likely known only after the client left"
    return ""


def _numeric(col: pd.Series) -> bool:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return True
    parsed = pd.to_numeric(col.dropna().astype(str).str.strip(), errors="coerce")
    return bool(len(parsed)) and bool(parsed.notna().mean() >= 0.95)


def _dates(col: pd.Series) -> bool:
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(col):
        return True
    if pd.api.types.is_numeric_dtype(col):
        return False
    parsed = pd.to_datetime(col.dropna().astype(str), errors="coerce", format="mixed")
    return bool(len(parsed)) and bool(parsed.notna().mean() >= 0.95)


def _plain(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value

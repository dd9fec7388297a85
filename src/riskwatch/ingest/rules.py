"""Pure ingestion logic: check a batch against the contract, type it, quarantine, deduplicate.

Every function takes and returns DataFrames and never touches disk. Every row read
ends up in exactly one place: accepted, quarantined (with a reason) or duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from riskwatch.errors import DataError, printable, printable_names
from riskwatch.ingest import values as kinds
from riskwatch.schema import HASH_COLUMN, NULL_TOKENS, REASON_COLUMN, ROW_COLUMN, DataSchema

EXCERPT = 60  # characters of a bad value shown in its reason

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class BatchOutcome:
    """Where the rows of one batch went."""

    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    rows_read: int
    duplicates: int

    @property
    def counts(self) -> dict[str, int]:
        """Rows read, accepted, quarantined and duplicate (they always add up)."""
        return {
            "read": self.rows_read,
            "accepted": len(self.accepted),
            "quarantined": len(self.quarantined),
            "duplicate": self.duplicates,
        }


def check_columns(columns: Sequence[str], schema: DataSchema) -> None:
    """Reject a batch whose columns do not match the dataset's schema.

    The label column may be absent (an unlabelled batch, scored but not trained on).

    Raises:
        DataError: naming the missing and unexpected columns.
    """
    expected = list(schema.columns)
    optional = {schema.target_column}
    missing = [c for c in expected if c not in columns and c not in optional]
    unexpected = [c for c in columns if c not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing column(s) {printable_names(missing)}")
        if unexpected:
            parts.append(f"unexpected column(s) {printable_names(unexpected)}")
        hint = ""
        if len(columns) == 1 and any(d in columns[0] for d in ";\t|"):
            hint = " (is the file delimited by something other than a comma?)"
        raise DataError("; ".join(parts) + hint)


def validate(
    raw: pd.DataFrame, schema: DataSchema, *, max_chars: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type a raw batch and split it into valid rows and quarantined rows.

    Args:
        raw: the batch as read; a ``_rw_row`` column, if present, numbers the source rows.
        schema: the dataset schema.
        max_chars: a row holding a longer text value is quarantined.

    Returns:
        ``(valid, quarantined)``: valid rows in storage order and types; quarantined rows
        as text with a ``_rw_reason`` column.
    """
    import numpy as np
    import pandas as pd

    check_columns([c for c in raw.columns if c != ROW_COLUMN], schema)
    if not isinstance(raw.index, pd.RangeIndex):
        raw = raw.reset_index(drop=True)
    n = len(raw)
    reasons = np.full(n, None, dtype=object)
    out: dict[str, pd.Series] = {}

    def flag(mask: np.ndarray, text: str, shown: pd.Series | None = None) -> None:
        """Give rows in ``mask`` their first reason (values shown only for those rows)."""
        new = mask & pd.isna(reasons)
        if not new.any():
            return
        if shown is None:
            reasons[new] = text
        else:
            values = shown[new].astype("string").fillna("<missing>")
            reasons[new] = [text + printable(v, EXCERPT) for v in values]

    if max_chars is not None:
        for col in raw.columns:
            if col != ROW_COLUMN and kinds.texty(raw[col]):
                lengths = raw[col].astype("string").str.len().fillna(0).to_numpy()
                if (lengths > max_chars).any():
                    for i in np.flatnonzero(lengths > max_chars):
                        if reasons[i] is None:
                            reasons[i] = (
                                f"value too long in {printable(col, 40)!r}: {int(lengths[i])} "
                                f"characters (the limit is {max_chars})"
                            )
    ids = kinds.ids(raw[schema.id_column])
    flag(ids.isna().to_numpy(), f"missing id in {schema.id_column!r}")
    out[schema.id_column] = ids
    numeric = list(schema.numeric)
    if schema.value_column and schema.value_column not in numeric:
        numeric.append(schema.value_column)
    for col in numeric:
        values, bad = kinds.numeric(raw[col])
        flag(bad, f"unparseable number in {col!r}: ", raw[col])
        out[col] = values
    for col in (*schema.categorical, *(c for c in schema.sensitive if c not in schema.features)):
        out[col] = kinds.category(raw[col])
    if schema.snapshot_column:
        stamps, bad = kinds.dates(raw[schema.snapshot_column])
        flag(bad, f"missing or unparseable date in {schema.snapshot_column!r}")
        out[schema.snapshot_column] = stamps
    if schema.target_column in raw.columns:
        labels, bad = normalize_labels(raw[schema.target_column], schema)
        flag(
            bad,
            f"label outside the declared classes in {schema.target_column!r}: ",
            raw[schema.target_column],
        )
        out[schema.target_column] = labels
    else:
        out[schema.target_column] = pd.Series(pd.NA, index=raw.index, dtype="Int8")
    typed = pd.DataFrame(out, index=raw.index)[list(schema.columns)]
    bad_rows = pd.notna(reasons)
    quarantined = raw.loc[bad_rows].astype("string")
    quarantined[REASON_COLUMN] = reasons[bad_rows].astype(str)
    return typed.loc[~bad_rows].reset_index(drop=True), quarantined.reset_index(drop=True)


def normalize_labels(values: pd.Series, schema: DataSchema) -> tuple[pd.Series, np.ndarray]:
    """Map labels to 1 (positive), 0 (negative) or missing; flag anything else.

    Matching ignores case, surrounding spaces and numeric spelling (``1`` = ``1.0``).
    """
    import numpy as np
    import pandas as pd

    pos, neg = (str(x).strip().lower() for x in (schema.positive_label, schema.negative_label))
    raw = values.astype("string")
    is_pos, is_neg = (raw == pos).fillna(False), (raw == neg).fillna(False)
    if bool((is_pos | is_neg).all()):  # the common case: every label written as declared
        codes = pd.Series(pd.NA, index=values.index, dtype="Int8")
        codes[is_pos.to_numpy()] = 1
        codes[is_neg.to_numpy()] = 0
        return codes, np.zeros(len(values), dtype=bool)
    text = raw.str.strip().str.lower()
    text = text.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    # booleans (a Parquet bool column, true/false text) mean 1/0 when the labels are 1/0, and
    # the other way round
    if {pos, neg} == {"1", "0"}:
        text = text.replace({"true": "1", "false": "0"})
    elif {pos, neg} == {"true", "false"}:
        text = text.replace({"1": "true", "0": "false"})
    missing = text.isna() | text.isin([t.lower() for t in NULL_TOKENS])
    codes = pd.Series(pd.NA, index=values.index, dtype="Int8")
    codes[text == pos] = 1
    codes[text == neg] = 0
    bad = (codes.isna() & ~missing).to_numpy(dtype=bool)
    return codes, bad


def dedupe(
    valid: pd.DataFrame, *, schema: DataSchema, seen: np.ndarray | list[np.ndarray]
) -> tuple[pd.DataFrame, int]:
    """Drop rows already stored or repeated in the batch.

    Identical rows always collapse (the course's semantics). With ``dedupe = "latest"``
    the last row per key (id, snapshot) in the batch wins and earlier ones count as
    duplicates; across batches the later one supersedes at read time.

    Args:
        valid: typed, valid rows.
        schema: the dataset schema.
        seen: sorted row hashes of the stored dataset (one array, or several sorted arrays).

    Returns:
        ``(new_rows, duplicate_count)``; new rows carry a ``_rw_hash`` column.
    """

    hashes = row_hashes(valid, schema)
    latest = schema.dedupe == "latest"
    # with "latest" the last of identical rows is kept too: keeping the first copy by hash and
    # the last by key would drop every copy of a row sent twice
    keep = ~_duplicated(hashes, keep="last" if latest else "first") & ~in_sorted(hashes, seen)
    if latest:
        keep &= ~valid.duplicated(subset=list(schema.key), keep="last").to_numpy()
    new = valid.loc[keep].copy()
    new[HASH_COLUMN] = hashes[keep]
    return new.reset_index(drop=True), int((~keep).sum())


def split_conflicts(valid: pd.DataFrame, schema: DataSchema) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move rows whose key repeats in the batch with different values to quarantine.

    Only for ``dedupe = "identical"``: without a snapshot there is no way to tell
    which of two different records of one client is right. Identical repeats stay
    (they are collapsed by :func:`dedupe`).

    Returns:
        ``(valid, quarantined)`` with the quarantined rows as text plus a reason.
    """
    mask = conflict_mask(valid, schema)
    if not mask.any():
        return valid, valid.iloc[:0].astype("string").assign(**{REASON_COLUMN: ""})
    key = list(schema.key)
    bad = valid.loc[mask].astype("string")
    what = f"conflicting records for the same {' + '.join(map(repr, key))} in this batch: "
    bad[REASON_COLUMN] = [what + printable(v, EXCERPT) for v in bad[schema.id_column].fillna("")]
    return valid.loc[~mask].reset_index(drop=True), bad.reset_index(drop=True)


def conflict_mask(valid: pd.DataFrame, schema: DataSchema) -> np.ndarray:
    """Rows :func:`split_conflicts` moves to quarantine."""
    import numpy as np

    none = np.zeros(len(valid), dtype=bool)
    if schema.dedupe == "latest" or valid.empty:
        return none
    key = list(schema.key)
    repeated = valid.duplicated(subset=key, keep=False).to_numpy()
    if not repeated.any():  # the common case: every key appears once
        return none
    distinct = valid.loc[repeated].drop_duplicates()
    clashing = distinct.loc[distinct.duplicated(subset=key, keep=False), key].drop_duplicates()
    if clashing.empty:
        return none
    hit = valid[key].merge(clashing.assign(_hit=True), on=key, how="left")["_hit"]
    return np.asarray(hit.notna().to_numpy(), dtype=bool)


def row_hashes(frame: pd.DataFrame, schema: DataSchema) -> np.ndarray:
    """A 64-bit hash of every stored column of each row."""
    import pandas as pd

    return pd.util.hash_pandas_object(frame[list(schema.columns)], index=False).to_numpy()


def raw_row_hashes(frame: pd.DataFrame) -> list[str]:
    """A hash of each quarantined row as it was read (bookkeeping columns left out), so a row
    read again is recognised."""
    import pandas as pd

    cols = [c for c in frame.columns if not str(c).startswith("_rw_")]
    if frame.empty:
        return []
    hashed = pd.util.hash_pandas_object(frame[cols].astype("string"), index=False)
    return [f"{int(h):016x}" for h in hashed.to_numpy()]


def in_sorted(values: np.ndarray, seen: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """Membership of ``values`` in one or several sorted arrays (binary search, no re-sorting)."""
    import numpy as np

    found = np.zeros(len(values), dtype=bool)
    for part in seen if isinstance(seen, list) else [seen]:
        if len(part):
            pos = np.searchsorted(part, values).clip(0, len(part) - 1)
            found |= part[pos] == values
    return found


def with_sorted(seen: list[np.ndarray], *new: np.ndarray) -> list[np.ndarray]:
    """``seen`` (sorted arrays of row hashes) with the sorted arrays ``new`` added; beyond four
    arrays they are merged into one, so a membership check stays a few binary searches (the
    merge of sorted runs is linear with a stable sort)."""
    import numpy as np

    out = [*seen, *new]
    return [np.sort(np.concatenate(out), kind="stable")] if len(out) > 4 else out


def _duplicated(hashes: np.ndarray, keep: Literal["first", "last"] = "first") -> np.ndarray:
    import pandas as pd

    return pd.Series(hashes).duplicated(keep=keep).to_numpy()

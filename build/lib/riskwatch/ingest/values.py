"""Typing one raw column by the contract: ids, numbers, categories and dates, each returned
with the rows whose value is bad (pure functions on Series)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskwatch.schema import NULL_TOKENS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def texty(col: pd.Series) -> bool:
    """Whether a column holds text (its values can be too long)."""
    import pandas as pd

    return bool(pd.api.types.is_string_dtype(col) or pd.api.types.is_object_dtype(col))


def ids(col: pd.Series) -> pd.Series:
    """Ids as text, one spelling per client: an integer-valued number (a Parquet float
    ``1001.0``, a CSV ``1001.0``) is written as the integer ``1001``."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_float_dtype(col):
        values = col.astype("float64").to_numpy()
        text = col.astype("string")
        whole = np.isfinite(values) & (np.abs(values) < 2.0**53)
        whole[whole] = values[whole] == np.floor(values[whole])
        if whole.any():
            text[whole] = pd.Series(values[whole].astype("int64"), index=col.index[whole]).astype(
                "string"
            )
    else:
        text = col.astype("string")
    text = text.str.strip()
    if bool(text.str.contains(".", regex=False).any()):
        text = text.str.replace(r"^([+-]?\d+)\.0*$", r"\1", regex=True)
    return text.mask(text == "")


def category(col: pd.Series) -> pd.Series:
    """Categories as text, surrounding spaces removed, null tokens missing."""
    text = col.astype("string").str.strip()
    return text.mask(text.isin(NULL_TOKENS))


def numeric(col: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Numbers as float (``true``/``false`` as 1/0); bad: neither a number nor missing, or
    not finite."""
    import numpy as np_
    import pandas as pd_

    if pd_.api.types.is_bool_dtype(col):
        return col.astype("float64"), np_.zeros(len(col), dtype=bool)
    if pd_.api.types.is_numeric_dtype(col):
        values = col.astype("float64")
        return values, ~np_.isfinite(values.fillna(0).to_numpy())
    fast = arrow_float(col)
    if fast is not None:
        return fast, ~np_.isfinite(fast.fillna(0).to_numpy())
    text = col.astype("string").str.strip()
    missing = text.isna() | text.isin(NULL_TOKENS)
    text = text.mask(missing, None)
    low = text.str.lower()
    is_true, is_false = (low == "true").fillna(False), (low == "false").fillna(False)
    text = text.mask(is_true, "1").mask(is_false, "0")  # a boolean column as text
    values = pd_.to_numeric(text, errors="coerce").astype("float64")
    bad = (values.isna() & ~missing) | ~np_.isfinite(values.fillna(0))
    return values, bad.to_numpy(dtype=bool)


def arrow_float(col: pd.Series) -> pd.Series | None:
    """Text to numbers in one Arrow cast (blanks and null tokens missing); None when some value
    is not a plain number, so the careful path decides what each value is."""
    import pandas as pd_
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(col, from_pandas=True)
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            return None
        arr = pc.utf8_trim_whitespace(arr)
        tokens = pc.is_in(arr, value_set=pa.array(NULL_TOKENS, type=arr.type))
        arr = pc.if_else(tokens, pa.scalar(None, arr.type), arr)
        out = pc.cast(arr, pa.float64())
    except (pa.ArrowException, TypeError, ValueError):
        return None
    return pd_.Series(out.to_numpy(zero_copy_only=False), index=col.index, dtype="float64")


def dates(col: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """UTC timestamps; bad: missing or unparseable."""
    import pandas as pd_

    if pd_.api.types.is_datetime64_any_dtype(col):
        stamps = pd_.to_datetime(col, utc=True)
    else:
        text = col.astype("string").str.strip()
        text = text.mask(text.isin(NULL_TOKENS))
        stamps = pd_.to_datetime(text, errors="coerce", utc=True, format="mixed")
    return stamps, stamps.isna().to_numpy(dtype=bool)

"""Data files read in partitions by a Dask cluster: local paths, globs or fsspec URLs (``s3://``).

The partitions are lazy: each worker reads its own part, so no process holds the whole file.
CSV cells are kept as their text (null tokens are the caller's rules, as for local files);
Parquet keeps its types, one partition per row group.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskwatch.errors import ConfigError, DataError, NotFound, printable

if TYPE_CHECKING:
    import pandas as pd
    from dask.delayed import Delayed


def is_url(source: str) -> bool:
    """``s3://...``, ``gcs://...``: a location only fsspec can open."""
    return "://" in source and not source.startswith("file://")


def local_path(source: str) -> Path:
    """``source`` as a local path for the local engine.

    Raises:
        ConfigError: it is a URL, which only the dask engine reads.
    """
    if is_url(source):
        raise ConfigError(f"{printable(source, 200)}: a URL input needs [engine] kind = 'dask'")
    return Path(source)


def partitions(source: str, *, storage_options: dict[str, Any], blocksize: str) -> list[Delayed]:
    """Lazy DataFrame partitions of a CSV or Parquet file (or glob/folder of them).

    Raises:
        NotFound: nothing matches ``source``.
        DataError: the file cannot be read as CSV/Parquet.
    """
    import dask
    import dask.dataframe as dd

    name = printable(source, 200)
    parquet = source.lower().rstrip("/").endswith(".parquet")
    try:
        with dask.config.set({"dataframe.convert-string": False}):  # NaN for missing, as pandas
            if parquet:
                frame = dd.read_parquet(
                    source, storage_options=storage_options, split_row_groups=True
                )
            else:
                frame = dd.read_csv(
                    source,
                    dtype=str,
                    keep_default_na=False,
                    na_filter=False,
                    blocksize=blocksize,
                    storage_options=storage_options,
                )
            return list(frame.to_delayed())
    except FileNotFoundError:
        raise NotFound(f"{name}: no such file") from None
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{name}: cannot be read: {printable(first, 200)}") from None


def typed_text(frame: pd.DataFrame, *, text_columns: tuple[str, ...]) -> pd.DataFrame:
    """CSV text typed as a local read types it: a column whose every value is a number or a null
    token becomes numbers; others (and ``text_columns``) stay text."""
    import pandas as pd

    from riskwatch.schema import NULL_TOKENS

    out = frame.copy()
    for col in out.columns:
        if col in text_columns or out[col].dtype != object:
            continue
        text = out[col].astype("string").str.strip()
        missing = text.isna() | text.isin(NULL_TOKENS)
        numbers = pd.to_numeric(text.mask(missing), errors="coerce")
        if not (numbers.isna() & ~missing).any():
            out[col] = numbers.astype("float64")
        else:
            out[col] = out[col].mask(missing)
    return out

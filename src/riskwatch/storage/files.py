"""Reading CSV/Parquet files in bounded chunks, with one-line errors naming the file."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from riskwatch.errors import DataError, NotFound
from riskwatch.schema import NULL_TOKENS, ROW_COLUMN

if TYPE_CHECKING:
    import pandas as pd

BLOCK_BYTES = 16 << 20


def read_chunks(
    path: Path, *, text_columns: tuple[str, ...] = (), chunk_rows: int = 100_000
) -> Iterator[pd.DataFrame]:
    """Yield the rows of a CSV or Parquet file as DataFrames of at most ~``chunk_rows`` rows.

    Identifier columns named in ``text_columns`` are read as text, so ``"NA"`` survives.
    Each chunk has a ``_rw_row`` column: the 1-based data row number in the file.

    Raises:
        NotFound: there is no such file.
        DataError: the file is empty, not UTF-8, malformed or has no data rows.
    """
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    if path.suffix.lower() == ".parquet":
        yield from _parquet_chunks(path, chunk_rows)
    else:
        yield from _csv_chunks(path, text_columns, chunk_rows)


def data_files_in(path: Path) -> list[Path]:
    """``path`` itself when it is a file, else every CSV/Parquet file under it (hidden skipped)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and p.suffix.lower() in (".csv", ".parquet") and not p.name.startswith(".")
    )


def content_identity(path: Path) -> tuple[str, str]:
    """(name, sha256 of the content) of a file or of every file under a folder."""
    import hashlib

    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        digest.update(f.read_bytes())
    return f"file:{path}", digest.hexdigest()


def read_header(path: Path) -> list[str]:
    """The column names of a CSV file (BOM and surrounding spaces removed)."""
    with path.open("rb") as fh:
        first = fh.readline(1 << 20)
    if not first.strip():
        raise DataError(f"{path.name}: empty file (no header)")
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8) :]
    try:
        line = first.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path.name}: header is not valid UTF-8 text") from None
    import csv

    names = [n.strip() for n in next(csv.reader([line]))]
    if any(not n for n in names):
        raise DataError(f"{path.name}: empty column name in the header")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataError(f"{path.name}: duplicate column name(s) {', '.join(map(repr, dupes))}")
    return names


def _csv_chunks(
    path: Path, text_columns: tuple[str, ...], chunk_rows: int
) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    from pyarrow import csv

    names = read_header(path)
    read_opts = csv.ReadOptions(
        column_names=names, skip_rows=1, block_size=_block_size(path, chunk_rows)
    )
    strict = csv.ConvertOptions(
        column_types={c: pa.string() for c in names if c in text_columns},
        null_values=list(NULL_TOKENS),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    done = 0
    try:
        for frame in _stream(path, read_opts, strict):
            done = int(frame[ROW_COLUMN].iloc[-1])
            yield frame
        return
    except _TypeDrift:
        pass  # a column's inferred type broke in a later block: re-read the rest as text
    as_text = csv.ConvertOptions(column_types={c: pa.string() for c in names})
    for frame in _stream(path, read_opts, as_text):
        if frame[ROW_COLUMN].iloc[-1] > done:
            yield frame[frame[ROW_COLUMN] > done].reset_index(drop=True)


class _TypeDrift(Exception):
    """A value does not fit the type inferred from the first block."""


def _stream(path: Path, read_opts: object, conv: object) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    from pyarrow import csv

    offset = 0
    try:
        reader = csv.open_csv(path, read_options=read_opts, convert_options=conv)
    except pa.ArrowInvalid as exc:
        raise DataError(f"{path.name}: {_arrow_message(exc)}") from None
    with reader:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                if "conversion error" in str(exc).lower():
                    raise _TypeDrift from None
                raise DataError(f"{path.name}: {_arrow_message(exc)}") from None
            frame = batch.to_pandas()
            frame[ROW_COLUMN] = range(offset + 1, offset + 1 + len(frame))
            offset += len(frame)
            yield frame
    if offset == 0:
        raise DataError(f"{path.name}: no data rows (header only)")


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(
            f"{path.name}: not a readable Parquet file ({_arrow_message(exc)})"
        ) from None
    offset = 0
    for batch in pfile.iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas()
        frame[ROW_COLUMN] = range(offset + 1, offset + 1 + len(frame))
        offset += len(frame)
        yield frame
    if offset == 0:
        raise DataError(f"{path.name}: no data rows")


def _block_size(path: Path, chunk_rows: int) -> int:
    """Bytes per block so a block holds about ``chunk_rows`` rows."""
    with path.open("rb") as fh:
        sample = fh.read(1 << 16)
    lines = max(sample.count(b"\n"), 1)
    per_row = max(len(sample) // lines, 8)
    return int(min(max(per_row * chunk_rows, 1 << 16), 1 << 30))


def _arrow_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "utf8" in text.lower() or "utf-8" in text.lower():
        return "not valid UTF-8 text (save it as UTF-8)"
    return text.removeprefix("CSV parse error: ")

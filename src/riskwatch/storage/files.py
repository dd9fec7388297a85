"""Reading CSV/Parquet files in bounded chunks, with one-line errors naming the file; writing
result tables with Arrow."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskwatch.errors import DataError, NotFound, printable, printable_names
from riskwatch.schema import NULL_TOKENS, REASON_COLUMN, ROW_COLUMN

if TYPE_CHECKING:
    import pandas as pd

BLOCK_BYTES = 16 << 20
HEADER_BYTES = 4 << 20
RAW_COLUMN = "_rw_text"  # the raw text of a row that could not be split into the columns
EXCERPT = 60  # characters of file content a message may show


def read_chunks(
    path: Path,
    *,
    text_columns: tuple[str, ...] = (),
    chunk_rows: int = 100_000,
    label: str | None = None,
    raw: bool = False,
) -> Iterator[pd.DataFrame]:
    """Yield the rows of a CSV or Parquet file as DataFrames of at most ~``chunk_rows`` rows.

    Identifier columns named in ``text_columns`` are read as text, so ``"NA"`` survives.
    Each chunk has a ``_rw_row`` column: the 1-based data row number in the file.

    Args:
        path: the file.
        text_columns: columns read as text (every column is, with ``raw``).
        chunk_rows: about how many rows a chunk holds.
        label: the file's name in messages (default: its escaped name).
        raw: ingestion mode: every CSV value is kept as its original text (the contract types
            it later, and a quarantined row keeps what the file said); a row with the wrong
            number of fields is yielded in a chunk of its own with a ``_rw_reason`` and its raw
            text in ``_rw_text`` instead of failing the file.

    Raises:
        NotFound: there is no such file.
        DataError: the file is empty, not UTF-8, malformed or has no data rows.
    """
    if not path.is_file():
        raise NotFound(f"{printable(str(path), 300)}: no such file")
    name = label or printable(path.name, 200)
    try:
        if path.suffix.lower() == ".parquet":
            yield from _parquet_chunks(path, name, chunk_rows)
        elif raw:
            yield from _csv_raw_chunks(path, name, chunk_rows)
        else:
            yield from _csv_chunks(path, name, text_columns, chunk_rows)
    except UnicodeDecodeError:
        raise DataError(f"{name}: not valid UTF-8 text (save it as UTF-8)") from None


TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json"}


def write_table(frame: pd.DataFrame, path: Path, fmt: str = "csv") -> None:
    """Write ``frame`` to ``path`` as ``csv``, ``parquet`` (with Arrow) or ``json`` (an array of
    records).

    CSV values are quoted only when they must be (a comma, quote or line break), so ids read
    back as written; numbers keep their shortest round-trip form, as pandas writes them.
    """
    if fmt == "json":  # json's float repr round-trips; pandas' to_json rounds to 15 decimals
        import json

        with path.open("w", encoding="utf-8") as fh:
            json.dump(frame.astype(object).where(frame.notna(), None).to_dict("records"), fh)
        return
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
        return
    try:
        plain = pa_csv.WriteOptions(quoting_style="none", quoting_header="none")
        pa_csv.write_csv(table, path, write_options=plain)
    except pa.ArrowInvalid:  # a value with a comma, quote or line break: quote the text
        pa_csv.write_csv(table, path, write_options=pa_csv.WriteOptions(quoting_style="needed"))


def _source(path: Path) -> Any:
    """What Arrow opens: the path, or an open file when the name is not valid UTF-8 (Arrow
    cannot encode such a name)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return path.open("rb")
    return str(path)


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


def read_header(path: Path, label: str | None = None) -> list[str]:
    """The column names of a CSV file (BOM and surrounding spaces removed)."""
    name = label or printable(path.name, 200)
    with path.open("rb") as fh:
        first = fh.readline(HEADER_BYTES)
    if not first.strip():
        raise DataError(f"{name}: empty file (no header)")
    if len(first) >= HEADER_BYTES and not first.endswith(b"\n"):
        raise DataError(f"{name}: header line longer than {HEADER_BYTES >> 20} MiB")
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8) :]
    try:
        line = first.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{name}: header is not valid UTF-8 text (save it as UTF-8)") from None
    if "\0" in line:
        raise DataError(f"{name}: not a text file (the header holds NUL bytes)")
    import csv

    names = [n.strip() for n in next(csv.reader([line.rstrip("\r\n")]), [])]
    if not names or any(not n for n in names):
        raise DataError(f"{name}: empty column name in the header")
    dupes = sorted({n for n in names if names.count(n) > 1}) if len(set(names)) < len(names) else []
    if dupes:
        raise DataError(f"{name}: duplicate column name(s) {printable_names(dupes)}")
    return names


def _csv_chunks(
    path: Path, name: str, text_columns: tuple[str, ...], chunk_rows: int
) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    from pyarrow import csv

    names = read_header(path, name)
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
        for frame in _stream(path, name, read_opts, strict):
            done = int(frame[ROW_COLUMN].iloc[-1])
            yield frame
        return
    except _TypeDrift:
        pass  # a column's inferred type broke in a later block: re-read the rest as text
    as_text = csv.ConvertOptions(column_types={c: pa.string() for c in names})
    try:
        for frame in _stream(path, name, read_opts, as_text):
            if frame[ROW_COLUMN].iloc[-1] > done:
                yield frame[frame[ROW_COLUMN] > done].reset_index(drop=True)
    except _TypeDrift:
        raise DataError(
            f"{name}: not valid UTF-8 text after row {done} (save it as UTF-8)"
        ) from None


class _TypeDrift(Exception):
    """A value does not fit the type inferred from the first block."""


def _batches(
    path: Path, name: str, read_so_far: Callable[[], int], *, type_drift: bool, **options: Any
) -> Iterator[Any]:
    """The record batches of a CSV read by Arrow with ``options``; Arrow's errors become one-line
    DataErrors naming the row after ``read_so_far()`` (a conversion error is ``_TypeDrift``
    when ``type_drift``: the caller reads the file again with wider types)."""
    import pyarrow as pa
    from pyarrow import csv

    try:
        reader = csv.open_csv(_source(path), **options)
    except pa.ArrowException as exc:
        raise DataError(f"{name}: {_arrow_message(exc)}") from None
    with reader:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowException as exc:
                if type_drift and "conversion error" in str(exc).lower():
                    raise _TypeDrift from None
                raise DataError(f"{name}: {_arrow_message(exc, after=read_so_far())}") from None
            yield batch


def _stream(path: Path, name: str, read_opts: Any, conv: Any) -> Iterator[pd.DataFrame]:
    offset = 0
    options = {"read_options": read_opts, "convert_options": conv}
    rows_read = lambda: offset  # noqa: E731  read when an error happens (late binding wanted)
    for batch in _batches(path, name, rows_read, type_drift=True, **options):
        frame = batch.to_pandas()
        frame[ROW_COLUMN] = range(offset + 1, offset + 1 + len(frame))
        offset += len(frame)
        yield frame
    if offset == 0:
        raise DataError(f"{name}: no data rows (header only)")


def _csv_raw_chunks(path: Path, name: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Every value as its original text; rows with the wrong number of fields set aside."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    from pyarrow import csv

    names = read_header(path, name)
    _check_names(names, name)
    ragged: list[tuple[int, str, int]] = []

    def set_aside(row: Any) -> str:
        ragged.append((int(row.number or 0) - 1, row.text, int(row.actual_columns)))
        return "skip"

    reader_args = {
        "read_options": csv.ReadOptions(
            column_names=names,
            skip_rows=1,
            block_size=_block_size(path, chunk_rows),
            use_threads=False,  # row numbers of set-aside rows are known only without threads
        ),
        "parse_options": csv.ParseOptions(invalid_row_handler=set_aside),
        "convert_options": csv.ConvertOptions(
            column_types={c: pa.string() for c in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    }
    next_row, total = 1, 0
    batches = _batches(path, name, lambda: next_row - 1, type_drift=False, **reader_args)
    for batch in batches:
        frame = batch.to_pandas()
        skipped = {r[0] for r in ragged}
        numbers = np.arange(next_row, next_row + len(frame) + len(skipped), dtype=np.int64)
        if skipped:
            numbers = numbers[~np.isin(numbers, list(skipped))]
        frame[ROW_COLUMN] = numbers[: len(frame)]
        if len(frame):
            next_row = int(numbers[len(frame) - 1]) + 1
            total += len(frame)
            yield frame
        done = [r for r in ragged if r[0] < next_row or not len(frame)]
        if done:
            ragged[:] = [r for r in ragged if r not in done]
            total += len(done)
            next_row = max(next_row, max(r[0] for r in done) + 1)
            yield _set_aside_frame(names, done, pd)
    if ragged:
        total += len(ragged)
        yield _set_aside_frame(names, ragged, pd)
    if total == 0:
        raise DataError(f"{name}: no data rows (header only)")


def _set_aside_frame(names: list[str], rows: list[tuple[int, str, int]], pd: Any) -> pd.DataFrame:
    expected = len(names)
    frame = pd.DataFrame({c: pd.Series([pd.NA] * len(rows), dtype="string") for c in names})
    frame[ROW_COLUMN] = [r[0] for r in rows]
    frame[RAW_COLUMN] = pd.Series([r[1] for r in rows], dtype="string")
    frame[REASON_COLUMN] = [
        f"wrong number of fields: expected {expected}, found {r[2]}"
        + (" (an unclosed quote runs over several lines?)" if "\n" in r[1] else "")
        + f": {printable(r[1], EXCERPT)}"
        for r in rows
    ]
    return frame


def _parquet_chunks(path: Path, name: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(_source(path))
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{name}: not a readable Parquet file ({_arrow_message(exc)})") from None
    offset = 0
    batches = pfile.iter_batches(batch_size=chunk_rows)
    while True:
        try:
            batch = next(batches)
            frame = batch.to_pandas()
        except StopIteration:
            break
        except (pa.ArrowException, OSError) as exc:
            raise DataError(
                f"{name}: unreadable Parquet data after row {offset} ({_arrow_message(exc)})"
            ) from None
        frame = _plain_index(frame)
        _check_names(list(frame.columns), name)
        frame[ROW_COLUMN] = range(offset + 1, offset + 1 + len(frame))
        offset += len(frame)
        yield frame
    if offset == 0:
        raise DataError(f"{name}: no data rows")


def _plain_index(frame: pd.DataFrame) -> pd.DataFrame:
    """A pandas index stored in the file: named levels become columns again (an id written as
    the index), unnamed ones are dropped."""
    import pandas as pd

    if isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0:
        return frame
    named = [n for n in frame.index.names if n is not None]
    if named:
        frame = frame.reset_index(level=named)
    return frame.reset_index(drop=True)


def _check_names(names: list[str], name: str) -> None:
    reserved = [n for n in names if str(n).startswith("_rw_")]
    if reserved:
        raise DataError(f"{name}: column name(s) {printable_names(reserved)} are reserved")


def _block_size(path: Path, chunk_rows: int) -> int:
    """Bytes per block so a block holds about ``chunk_rows`` rows."""
    with path.open("rb") as fh:
        sample = fh.read(1 << 16)
    lines = max(sample.count(b"\n"), 1)
    per_row = max(len(sample) // lines, 8)
    return int(min(max(per_row * chunk_rows, 1 << 16), 1 << 30))


def _arrow_message(exc: Exception, after: int | None = None) -> str:
    """Arrow's first line, with any file content in it cut to a short escaped excerpt."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    where = f" after row {after}" if after else ""
    low = text.lower()
    if "utf8" in low or "utf-8" in low:
        return f"not valid UTF-8 text{where} (save it as UTF-8)"
    if "straddling" in low or "straddle" in low:
        return f"a row{where} is longer than the read block: an unclosed quote or a huge value"
    text = text.removeprefix("CSV parse error: ")
    head, sep, rest = text.partition(": ")
    if sep and rest:  # arrow quotes the offending row after the colon
        return f"{printable(head, 120)}{where}: {printable(rest, EXCERPT)}"
    return printable(text, 200) + where

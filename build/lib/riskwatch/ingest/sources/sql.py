"""A SQL table watched through a watermark column (an increasing id or an updated-at time).

Rows are read at least once and stored exactly once: every read re-reads a look-back window
below the last watermark (``lookback`` for times, ``lookback_rows`` for numbers) and the row-hash
dedupe drops what is already stored, so a row committed late with a value inside the window (an
equal timestamp, id 11 committed after id 12 was read) is still picked up. Rows whose watermark
is NULL are read too. Counts taken with each read (rows in the window, below it, NULL) reveal
rows that arrive below the window: they are reported as late, and ``ingest --retry`` reads the
whole table again to pick them up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskwatch.errors import ConfigError, SourceUnavailable
from riskwatch.ingest.sources import REREAD_COLUMN, Unit
from riskwatch.ingest.sources.watermark import as_text, as_value, kind_of, window_start
from riskwatch.schema import ROW_COLUMN
from riskwatch.storage.db import Database, light_dialect, quote_ident, redact
from riskwatch.storage.ingestions import WatermarkState, set_watermark, watermark

if TYPE_CHECKING:
    import pandas as pd

WINDOW_COLUMN = "_rw_window"


@dataclass
class SqlSource:
    """Rows of ``table`` at or above the look-back window of the last watermark ingested."""

    name: str
    url: str
    table: str
    watermark: str
    chunk_rows: int = 100_000
    lookback_seconds: float = 300.0
    lookback_rows: int = 1000
    _read: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    @property
    def system_columns(self) -> tuple[str, ...]:
        """The watermark is bookkeeping, dropped unless the contract names it."""
        return (self.watermark,)

    @property
    def rereads(self) -> bool:
        """The look-back window is read again on purpose."""
        return True

    def last_watermark(self, db: Database) -> WatermarkState | None:
        """The source's state after its last ingested read, if any."""
        return watermark(db, self.name)

    def pending(self, db: Database, *, retry: bool = False) -> list[Unit]:
        """One unit when anything changed since the last read: rows above the watermark, a
        different number of rows inside the look-back window or with a NULL watermark, or
        rows that appeared below the window (late). ``retry`` reads the whole table."""
        last = self.last_watermark(db)
        if last is None or last.kind == "none":
            top, total, nulls = self._probe_all()
            if not total or (last is not None and top is None and nulls == last.null_rows):
                return []
            kind = kind_of(top) if top is not None else "none"
            return [self._unit(None, top, kind, nulls=nulls, full=True, last=last)]
        wm = quote_ident(self.watermark)
        table = quote_ident(self.table)
        lo = self._lower(last.value, last.kind)
        top, new, window, below, nulls = self._query_row(
            f"SELECT (SELECT MAX({wm}) FROM {table}), "
            f"(SELECT COUNT(*) FROM {table} WHERE {wm} > :w), "
            f"(SELECT COUNT(*) FROM {table} WHERE {wm} >= :lo AND {wm} <= :w), "
            f"(SELECT COUNT(*) FROM {table} WHERE {wm} < :lo), "
            f"(SELECT COUNT(*) FROM {table} WHERE {wm} IS NULL)",
            {"w": as_value(last.value, last.kind), "lo": as_value(lo, last.kind)},
        )
        late = 0 if last.below_rows is None else max(0, int(below) - last.below_rows)
        nulls_changed = int(nulls) != (last.null_rows or 0) or last.null_rows is None
        changed = int(new) > 0 or window != last.window_rows or nulls_changed
        if not (changed or late or retry):
            return []
        unit = self._unit(
            last.value,
            top if int(new) > 0 else as_value(last.value, last.kind),
            last.kind,
            nulls=int(nulls),
            full=retry,
            last=last,
            lo=lo,
            below=int(below),
            late=late,
            read_nulls=nulls_changed or retry,
        )
        return [unit]

    def _unit(
        self,
        prev: str | None,
        top: Any,
        kind: str,
        *,
        nulls: int,
        full: bool,
        last: WatermarkState | None,
        lo: str | None = None,
        below: int = 0,
        late: int = 0,
        read_nulls: bool = True,
    ) -> Unit:
        hi = as_text(top) if top is not None else None
        extra = {
            "kind": kind,
            "prev": prev or "",
            "full": "1" if full else "",
            "lo": "" if full else (lo or ""),
            "below": "0" if full else str(below),
            "late": str(late),
            "late_before": str(last.late_rows if last else 0),
            "nulls": str(nulls),
            "nulls_before": str(last.null_rows if last and last.null_rows is not None else ""),
            "read_nulls": "1" if read_nulls else "",
        }
        if hi is not None and kind != "none":
            extra["newlo"] = self._lower(hi, kind)
        return Unit(
            source=self.name,
            name=self.table,
            watermark_from=None if full else lo,
            watermark_to=hi,
            extra=extra,
        )

    def read(self, unit: Unit, *, text_columns: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        """Rows of the unit's range (and NULL watermarks when their count changed), in chunks,
        with a ``_rw_reread`` flag on rows at or below the previous watermark."""
        import pandas as pd
        import sqlalchemy as sa

        ex = unit.extra
        kind = ex["kind"]
        engine = self._engine(sa)
        prep = engine.dialect.identifier_preparer
        table = ".".join(prep.quote(p) for p in self.table.split("."))
        wm = "_rw_t." + prep.quote(self.watermark)
        params: dict[str, Any] = {"seen_nulls": 1 if ex.get("nulls_before") not in ("", "0") else 0}
        ranges = []
        if unit.watermark_to is not None:
            params["hi"] = as_value(unit.watermark_to, kind)
            if ex.get("lo"):
                params["lo"] = as_value(ex["lo"], kind)
                ranges.append(f"({wm} >= :lo AND {wm} <= :hi)")
            else:
                ranges.append(f"{wm} <= :hi")
        if ex.get("read_nulls") or unit.watermark_to is None:
            ranges.append(f"{wm} IS NULL")
        reread = "0"
        if ex.get("prev"):
            params["prev"] = as_value(ex["prev"], kind)
            reread = f"CASE WHEN {wm} <= :prev THEN 1 ELSE 0 END"
        window = "0"
        if ex.get("newlo"):
            params["newlo"] = as_value(ex["newlo"], kind)
            window = f"CASE WHEN {wm} >= :newlo THEN 1 ELSE 0 END"
        sql = sa.text(
            f"SELECT _rw_t.*, CASE WHEN {wm} IS NULL THEN :seen_nulls ELSE {reread} END "
            f"AS {REREAD_COLUMN}, CASE WHEN {wm} IS NULL THEN NULL ELSE {window} END "
            f"AS {WINDOW_COLUMN} FROM {table} AS _rw_t WHERE {' OR '.join(ranges)} ORDER BY {wm}"
        )
        offset = 0
        counts = {"window": 0, "below": 0, "nulls": 0}
        self._read.clear()
        try:
            with engine.connect().execution_options(stream_results=True) as conn:
                for chunk in pd.read_sql(sql, conn, params=params, chunksize=self.chunk_rows):
                    flag = pd.to_numeric(chunk.pop(WINDOW_COLUMN), errors="coerce")
                    counts["window"] += int((flag == 1).sum())
                    counts["below"] += int((flag == 0).sum())
                    counts["nulls"] += int(flag.isna().sum())
                    chunk[REREAD_COLUMN] = pd.to_numeric(chunk[REREAD_COLUMN]).fillna(0) > 0
                    chunk[ROW_COLUMN] = range(offset + 1, offset + 1 + len(chunk))
                    offset += len(chunk)
                    yield chunk
        except sa.exc.OperationalError as exc:
            raise SourceUnavailable(
                f"source {self.name!r} ({redact(self.url)}): {_first(exc)}"
            ) from None
        finally:
            engine.dispose()
        self._read.update(counts)

    def mark(self, db: Database, unit: Unit) -> None:
        """Store the new watermark and the counts this read saw (in the caller's transaction)."""
        ex = unit.extra
        if not self._read:
            return  # never read in this process: nothing to record
        nulls = self._read["nulls"] if ex.get("read_nulls") else int(ex.get("nulls_before") or 0)
        late = 0 if ex.get("full") else int(ex.get("late_before") or 0) + int(ex.get("late") or 0)
        state = WatermarkState(
            value=unit.watermark_to or "",
            kind=ex["kind"] if unit.watermark_to is not None else "none",
            window_rows=self._read["window"],
            below_rows=int(ex.get("below") or 0) + self._read["below"],
            null_rows=nulls,
            late_rows=late,
        )
        set_watermark(db, self.name, state)

    def _lower(self, value: str, kind: str) -> str:
        """The start of the look-back window below ``value``."""
        return window_start(value, kind, seconds=self.lookback_seconds, rows=self.lookback_rows)

    def _probe_all(self) -> tuple[Any, int, int]:
        wm = quote_ident(self.watermark)
        table = quote_ident(self.table)
        top, total, nulls = self._query_row(
            f"SELECT (SELECT MAX({wm}) FROM {table}), (SELECT COUNT(*) FROM {table}), "
            f"(SELECT COUNT(*) FROM {table} WHERE {wm} IS NULL)",
            {},
        )
        return top, int(total or 0), int(nulls or 0)

    def _query_row(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
        if light_dialect(self.url):
            db = Database(self.url, readonly=True)
            try:
                if db.dialect == "sqlite":
                    self._check_sqlite_columns(db)
                row = db.execute(sql, params)[0]
            except Exception as exc:
                raise self._explain(exc) from None
            finally:
                db.close()
            return tuple(row)
        import sqlalchemy as sa

        engine = self._engine(sa)
        try:
            with engine.connect() as conn:
                row = conn.execute(sa.text(sql), params).one()
        except sa.exc.SQLAlchemyError as exc:
            raise self._explain(exc) from None
        finally:
            engine.dispose()
        return tuple(row)

    def _check_sqlite_columns(self, db: Database) -> None:
        """SQLite reads an unknown double-quoted column as a string literal: check names first."""
        names = {
            r[0] for r in db.execute("SELECT name FROM pragma_table_info(:t)", {"t": self.table})
        }
        if not names:
            raise RuntimeError(f"no such table: {self.table}")
        if self.watermark not in names:
            raise RuntimeError(f"no such column: {self.watermark}")

    def _engine(self, sa: Any) -> Any:
        try:
            return sa.create_engine(sqlalchemy_url(self.url))
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise ConfigError(
                f"source {self.name!r}: bad url {redact(self.url)!r}: {exc}"
            ) from None

    def _explain(self, exc: Exception) -> Exception:
        text = _first(exc)
        low = text.lower()
        where = f"source {self.name!r} ({redact(self.url)})"
        if "no such table" in low or ("relation" in low and "does not exist" in low):
            return ConfigError(f"{where}: table {self.table!r} does not exist")
        if "no such column" in low or ("column" in low and "does not exist" in low):
            return ConfigError(
                f"{where}: watermark column {self.watermark!r} not in table {self.table!r}"
            )
        return SourceUnavailable(f"{where}: {text}")


def sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 (installed) for plain ``postgresql://`` URLs instead of psycopg2."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def _first(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def count_distinct(url: str, table: str, column: str) -> int:
    """Distinct values of ``column`` in ``table`` (0 when the table does not exist yet)."""
    import sqlalchemy as sa

    if url.startswith("sqlite:///") and not Path(url.split(":///", 1)[1]).is_file():
        return 0
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        if not sa.inspect(engine).has_table(table):
            return 0
        with engine.connect() as conn:
            q = sa.select(sa.func.count(sa.distinct(sa.column(column)))).select_from(
                sa.table(table)
            )
            return int(conn.execute(q).scalar_one())
    except sa.exc.OperationalError as exc:
        raise SourceUnavailable(f"{redact(url)}: {_first(exc)}") from None
    finally:
        engine.dispose()


def append_rows(url: str, table: str, frame: pd.DataFrame, *, watermark: str) -> None:
    """Append rows to ``table`` in one transaction, creating it with an auto-increment
    ``watermark`` column if needed (used by the demo and tests)."""
    import sqlalchemy as sa

    if url.startswith("sqlite:///"):
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            if not sa.inspect(conn).has_table(table):
                cols = [sa.Column(watermark, sa.Integer, primary_key=True, autoincrement=True)]
                cols += [sa.Column(c, _sa_type(frame[c], sa)) for c in frame.columns]
                sa.Table(table, sa.MetaData(), *cols).create(conn)
            frame.to_sql(table, conn, if_exists="append", index=False, chunksize=10_000)
    finally:
        engine.dispose()


def _sa_type(col: pd.Series, sa: Any) -> Any:
    import pandas as pd

    if pd.api.types.is_integer_dtype(col):
        return sa.BigInteger
    if pd.api.types.is_float_dtype(col):
        return sa.Float
    return sa.Text

"""A SQL table watched through a watermark column (an increasing id or updated-at time)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskwatch.errors import ConfigError, SourceUnavailable
from riskwatch.ingest.sources import Unit
from riskwatch.schema import ROW_COLUMN
from riskwatch.storage.db import Database, light_dialect, quote_ident, redact
from riskwatch.storage.ingestions import set_watermark, watermark

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class SqlSource:
    """Rows of ``table`` whose ``watermark`` is above the last one ingested."""

    name: str
    url: str
    table: str
    watermark: str
    chunk_rows: int = 100_000

    @property
    def system_columns(self) -> tuple[str, ...]:
        """The watermark is bookkeeping, dropped unless the contract names it."""
        return (self.watermark,)

    def last_watermark(self, db: Database) -> tuple[str, str] | None:
        """The stored ``(value, kind)`` of the last ingested watermark, if any."""
        return watermark(db, self.name)

    def pending(self, db: Database) -> list[Unit]:
        """One unit covering every row above the last watermark, up to the current maximum."""
        last = self.last_watermark(db)
        where, params = self._above(last)
        sql = f"SELECT MAX({quote_ident(self.watermark)}), COUNT(*) FROM {quote_ident(self.table)}{where}"
        top, count = self._query_one(sql, params)
        if top is None or not count:
            return []
        kind = _kind(top)
        return [
            Unit(
                source=self.name,
                name=self.table,
                watermark_from=last[0] if last else None,
                watermark_to=_text(top),
                extra={"kind": kind, "rows": str(count)},
            )
        ]

    def read(self, unit: Unit, *, text_columns: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        """Rows of the unit's watermark range, ordered by watermark, in chunks."""
        import pandas as pd
        import sqlalchemy as sa

        last = (unit.watermark_from, unit.extra["kind"]) if unit.watermark_from else None
        where, params = self._above(last, upper=(unit.watermark_to, unit.extra["kind"]))
        engine = self._engine(sa)
        prep = engine.dialect.identifier_preparer
        table = ".".join(prep.quote(p) for p in self.table.split("."))
        wm = prep.quote(self.watermark)
        sql = sa.text(f"SELECT * FROM {table}{where} ORDER BY {wm}")
        offset = 0
        try:
            with engine.connect().execution_options(stream_results=True) as conn:
                for chunk in pd.read_sql(sql, conn, params=params, chunksize=self.chunk_rows):
                    chunk[ROW_COLUMN] = range(offset + 1, offset + 1 + len(chunk))
                    offset += len(chunk)
                    yield chunk
        except sa.exc.OperationalError as exc:
            raise SourceUnavailable(
                f"source {self.name!r} ({redact(self.url)}): {_first(exc)}"
            ) from None
        finally:
            engine.dispose()

    def mark(self, db: Database, unit: Unit) -> None:
        """Store the unit's upper watermark (inside the caller's transaction)."""
        assert unit.watermark_to is not None
        set_watermark(db, self.name, unit.watermark_to, unit.extra["kind"])

    def _above(
        self, last: tuple[str, str] | None, upper: tuple[str | None, str] | None = None
    ) -> tuple[str, dict[str, Any]]:
        wm = quote_ident(self.watermark)
        clauses, params = [], {}
        if last:
            clauses.append(f"{wm} > :lo")
            params["lo"] = _value(*last)
        if upper and upper[0] is not None:
            clauses.append(f"{wm} <= :hi")
            params["hi"] = _value(upper[0], upper[1])
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def _query_one(self, sql: str, params: dict[str, Any]) -> tuple[Any, Any]:
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
            return row[0], row[1]
        import sqlalchemy as sa

        engine = self._engine(sa)
        try:
            with engine.connect() as conn:
                row = conn.execute(sa.text(sql), params).one()
        except sa.exc.SQLAlchemyError as exc:
            raise self._explain(exc) from None
        finally:
            engine.dispose()
        return row[0], row[1]

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


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "text"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, datetime | date):
        return "timestamp"
    return "text"


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def _value(text: str, kind: str) -> Any:
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "timestamp":
        return datetime.fromisoformat(text)
    return text


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

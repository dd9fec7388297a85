"""A thin DB-API layer for the metadata database: SQLite (stdlib) or PostgreSQL (psycopg 3).

SQLAlchemy costs a quarter of a second to import, which the cron fast path cannot
afford, so the metadata store speaks plain SQL with ``:name`` parameters and this
module adapts it to each driver. Sources still accept any SQLAlchemy URL.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from riskwatch.errors import ConfigError, SourceUnavailable

Row = tuple[Any, ...]
_NAMED = re.compile(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)")


def redact(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``."""
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


class Database:
    """One open connection to SQLite or PostgreSQL with ``:name`` parameters."""

    def __init__(self, url: str, *, readonly: bool = False) -> None:
        self.url = url
        self.dialect = _dialect(url)
        self._conn: Any = _connect(url, self.dialect, readonly=readonly)
        self._depth = 0

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def _sql(self, sql: str) -> str:
        if self.dialect == "postgresql":
            return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
        return sql

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run one statement and return all rows (empty for statements without a result)."""
        cur = self._conn.cursor()
        try:
            cur.execute(self._sql(sql), dict(params or {}))
            return [tuple(r) for r in cur.fetchall()] if cur.description else []
        finally:
            cur.close()

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement for many parameter sets."""
        if rows:
            cur = self._conn.cursor()
            try:
                cur.executemany(self._sql(sql), [dict(r) for r in rows])
            finally:
                cur.close()

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """Return the first column of the first row, or None."""
        rows = self.execute(sql, params)
        return rows[0][0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Commit everything inside the block at once, or nothing (nested blocks join)."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._raw("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self._raw("ROLLBACK")
            raise
        self._depth = 0
        self._raw("COMMIT")

    def _raw(self, sql: str) -> None:
        cur = self._conn.cursor()
        try:
            cur.execute(sql)
        finally:
            cur.close()


def quote_ident(name: str) -> str:
    """Quote a (possibly schema-qualified) identifier for SQLite and PostgreSQL."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def light_dialect(url: str) -> str | None:
    """``sqlite``/``postgresql`` when this module can open ``url`` itself, else None."""
    try:
        return _dialect(url)
    except ConfigError:
        return None


def _dialect(url: str) -> str:
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("postgresql+psycopg", "postgresql+psycopg2"):
        return "postgresql"
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise ConfigError(
        f"metadata_url {redact(url)!r}: unsupported database (use sqlite:///... or postgresql://...)"
    )


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///`` URL (``:memory:`` allowed)."""
    rest = url.split(":///", 1)[1] if ":///" in url else ""
    return rest or ":memory:"


def _connect(url: str, dialect: str, *, readonly: bool) -> Any:
    if dialect == "sqlite":
        path = sqlite_path(url)
        try:
            if readonly:
                if not Path(path).is_file():
                    raise SourceUnavailable(f"database file {path} not found")
                conn = sqlite3.connect(
                    f"file:{path}?mode=ro", uri=True, timeout=30, isolation_level=None
                )
                return conn
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise SourceUnavailable(f"database {path}: {exc}") from None
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn
    from riskwatch.errors import require

    require("psycopg", "postgres", f"the PostgreSQL database {redact(url)}")
    import psycopg

    conninfo = "postgresql://" + url.split("://", 1)[1]
    try:
        return psycopg.connect(conninfo, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceUnavailable(f"database {redact(url)}: {first}") from None

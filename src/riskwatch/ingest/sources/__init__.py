"""Where new data comes from: drop folders (content hash) and SQL tables (watermark)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.config import Settings
    from riskwatch.storage.db import Database


@dataclass(frozen=True)
class Unit:
    """One ingestible unit: a file, or a range of rows of a table."""

    source: str
    name: str
    content_hash: str | None = None
    watermark_from: str | None = None
    watermark_to: str | None = None
    size: int = 0
    extra: dict[str, str] = field(default_factory=dict)


class Source(Protocol):
    """A place new data arrives."""

    name: str

    @property
    def system_columns(self) -> tuple[str, ...]:
        """Bookkeeping columns (a watermark) dropped unless the contract names them."""
        ...

    def pending(self, db: Database) -> list[Unit]:
        """Units not ingested yet (cheap: no pandas)."""
        ...

    def read(self, unit: Unit, *, text_columns: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        """The rows of a unit, in bounded chunks, with a ``_rw_row`` column numbering them."""
        ...

    def mark(self, db: Database, unit: Unit) -> None:
        """Record inside the caller's transaction that ``unit`` has been ingested."""
        ...


def build_sources(settings: Settings) -> list[Source]:
    """Instantiate the configured sources, in configuration order."""
    from riskwatch.ingest.sources.folder import FolderSource
    from riskwatch.ingest.sources.sql import SqlSource

    out: list[Source] = []
    for name, cfg in settings.sources.items():
        if cfg.kind == "folder":
            assert cfg.path is not None
            out.append(FolderSource(name=name, path=cfg.path, chunk_rows=cfg.chunk_rows))
        else:
            assert cfg.url and cfg.table and cfg.watermark
            out.append(
                SqlSource(
                    name=name,
                    url=cfg.url,
                    table=cfg.table,
                    watermark=cfg.watermark,
                    chunk_rows=cfg.chunk_rows,
                )
            )
    return out

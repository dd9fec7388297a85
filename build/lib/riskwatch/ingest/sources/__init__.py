"""Where new data comes from: drop folders (content hash) and SQL tables (watermark)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.config import Settings
    from riskwatch.storage.db import Database

# A source may add this boolean column to a chunk: True for rows it reads again on purpose
# (a SQL look-back window); the job drops such rows quietly when they are already stored.
REREAD_COLUMN = "_rw_reread"


class UnitChanged(Exception):
    """A unit changed while it was being read: nothing of it is kept; it is read again later."""


@dataclass(frozen=True)
class Unit:
    """One ingestible unit: a file, or a range of rows of a table.

    ``name`` is what people see (control characters escaped); ``settle_in`` > 0 says the unit
    is still changing (read it only after that many seconds); ``refused`` says why it must not
    be read at all (a link leaving the folder, a file that cannot be opened).
    """

    source: str
    name: str
    content_hash: str | None = None
    watermark_from: str | None = None
    watermark_to: str | None = None
    size: int = 0
    extra: dict[str, str] = field(default_factory=dict)
    settle_in: float = 0.0
    refused: str = ""


class Source(Protocol):
    """A place new data arrives."""

    name: str

    @property
    def system_columns(self) -> tuple[str, ...]:
        """Bookkeeping columns (a watermark) dropped unless the contract names them."""
        ...

    @property
    def rereads(self) -> bool:
        """Whether rows may be read again (then quarantined rows are remembered)."""
        ...

    def pending(self, db: Database, *, retry: bool = False) -> list[Unit]:
        """Units not ingested yet (cheap: no pandas); ``retry`` re-examines rejected ones."""
        ...

    def read(self, unit: Unit, *, text_columns: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        """The rows of a unit, in bounded chunks, with a ``_rw_row`` column numbering them."""
        ...

    def mark(self, db: Database, unit: Unit) -> None:
        """Record inside the caller's transaction that ``unit`` has been ingested."""
        ...


def contract_fingerprint(settings: Settings) -> str:
    """A short fingerprint of the data contract: a rejected unit is looked at again when it
    changes."""
    text = json.dumps(settings.contract.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_sources(settings: Settings) -> list[Source]:
    """Instantiate the configured sources, in configuration order."""
    from riskwatch.ingest.sources.folder import FolderSource
    from riskwatch.ingest.sources.sql import SqlSource

    out: list[Source] = []
    fingerprint = contract_fingerprint(settings)
    for name, cfg in settings.sources.items():
        if cfg.kind == "folder":
            assert cfg.path is not None
            ws = settings.workspace_path  # never ingest our own files, wherever they lie
            skip = [ws, *(ws / d for d in ("datasets", "quarantine", "models", "reports", "logs"))]
            skip.append(ws / "cache")
            if settings.evaluation.path is not None:
                skip.append(settings.evaluation.path)  # nor the evaluation data
            out.append(
                FolderSource(
                    name=name,
                    path=cfg.path,
                    chunk_rows=cfg.chunk_rows,
                    settle_seconds=cfg.settle_seconds,
                    skip=tuple(skip),
                    contract=fingerprint,
                )
            )
        else:
            assert cfg.url and cfg.table and cfg.watermark
            out.append(
                SqlSource(
                    name=name,
                    url=cfg.url,
                    table=cfg.table,
                    watermark=cfg.watermark,
                    chunk_rows=cfg.chunk_rows,
                    lookback_seconds=cfg.lookback_seconds,
                    lookback_rows=cfg.lookback_rows,
                )
            )
    return out


def pending_units(
    settings: Settings, db: Database, *, wait: bool = True, retry: bool = False
) -> list[Unit]:
    """Every unit waiting in every source (no pandas import).

    With ``wait``, files still changing are given up to their settle time (once) before
    the list is made; units still changing after that keep ``settle_in`` > 0.
    """
    sources = build_sources(settings)
    units = [u for src in sources for u in src.pending(db, retry=retry)]
    delay = max((u.settle_in for u in units), default=0.0)
    if wait and delay > 0:
        time.sleep(delay)
        units = [u for src in sources for u in src.pending(db, retry=retry)]
    return units

"""A drop folder of CSV/Parquet files; a file is new when its content hash is new."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from riskwatch.errors import SourceUnavailable
from riskwatch.ingest.sources import Unit
from riskwatch.storage.ingestions import cache_file_hash, file_hash_cache, settled_hashes

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.storage.db import Database

DATA_SUFFIXES = (".csv", ".parquet")
PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")


def data_files(folder: Path) -> list[Path]:
    """Every CSV/Parquet file under ``folder``, sorted; hidden and partial files are skipped."""
    if not folder.is_dir():
        raise SourceUnavailable(f"{folder}: drop folder not found")
    found = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        name = path.name.lower()
        if name.endswith(PARTIAL_SUFFIXES) or not name.endswith(DATA_SUFFIXES):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class FolderSource:
    """Files dropped under a folder (recursively)."""

    name: str
    path: Path
    chunk_rows: int = 100_000

    @property
    def system_columns(self) -> tuple[str, ...]:
        """A file has no bookkeeping columns."""
        return ()

    def pending(self, db: Database) -> list[Unit]:
        """Files whose content was never ingested nor rejected as it is."""
        known = file_hash_cache(db, self.name)
        done = settled_hashes(db)
        units = []
        for file in data_files(self.path):
            stat = file.stat()
            rel = str(file.relative_to(self.path))
            cached = known.get(rel)
            if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
                digest = cached[2]
            else:
                digest = file_sha256(file)
            if digest in done:
                continue
            units.append(
                Unit(
                    source=self.name,
                    name=rel,
                    content_hash=digest,
                    size=stat.st_size,
                    extra={"mtime_ns": str(stat.st_mtime_ns)},
                )
            )
        return units

    def read(self, unit: Unit, *, text_columns: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        """Read the file in chunks (see :mod:`riskwatch.storage.files`)."""
        from riskwatch.storage.files import read_chunks

        yield from read_chunks(
            self.path / unit.name, text_columns=text_columns, chunk_rows=self.chunk_rows
        )

    def mark(self, db: Database, unit: Unit) -> None:
        """Cache the file's hash by path, size and mtime so the next check need not re-hash it."""
        assert unit.content_hash is not None
        cache_file_hash(
            db,
            self.name,
            unit.name,
            size=unit.size,
            mtime_ns=int(unit.extra.get("mtime_ns", "0")),
            content_hash=unit.content_hash,
        )

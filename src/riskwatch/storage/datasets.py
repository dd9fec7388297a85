"""Dataset versions: immutable Parquet parts listed by versions in the metadata database.

A version is committed by one metadata transaction that names its parts; parts are
written (atomically) before it. A kill before the commit leaves unreferenced parts
that :func:`remove_orphans` deletes; a kill after it leaves a complete version.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from riskwatch.errors import DataError, NotFound
from riskwatch.schema import HASH_COLUMN, DataSchema
from riskwatch.storage.metadata import now
from riskwatch.storage.workspace import Workspace, atomic_path

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from riskwatch.storage.db import Database


@dataclass(frozen=True)
class Part:
    """One immutable Parquet file of a dataset."""

    name: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class DatasetVersion:
    """A committed dataset version."""

    version: int
    created_at: str
    rows: int
    fingerprint: str
    parts: tuple[Part, ...]
    schema: DataSchema


def current_version_number(db: Database) -> int | None:
    """The newest committed version's number (one light query)."""
    top = db.scalar("SELECT MAX(version) FROM dataset_versions")
    return None if top is None else int(top)


def current_version(db: Database) -> DatasetVersion | None:
    """The newest committed version, or None before the first ingestion."""
    top = db.scalar("SELECT MAX(version) FROM dataset_versions")
    return None if top is None else get_version(db, int(top))


def get_version(db: Database, version: int) -> DatasetVersion:
    """A committed version by number.

    Raises:
        NotFound: there is no such version.
    """
    rows = db.execute(
        "SELECT version, created_at, rows, fingerprint, parts, schema FROM dataset_versions "
        "WHERE version = :v",
        {"v": version},
    )
    if not rows:
        raise NotFound(f"dataset version {version} does not exist")
    v, created, n, fp, parts, schema = rows[0]
    return DatasetVersion(
        version=int(v),
        created_at=created,
        rows=int(n),
        fingerprint=fp,
        parts=tuple(Part(**p) for p in json.loads(parts)),
        schema=DataSchema.from_json(schema),
    )


def write_part(ws: Workspace, frame: pd.DataFrame) -> Part:
    """Write new rows as an immutable Parquet part (atomically) and describe it."""
    name = f"part-{uuid.uuid4().hex}.parquet"
    path = ws.datasets / name
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False, compression="zstd")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Part(name=name, rows=len(frame), sha256=digest)


def part_hashes(ws: Workspace, part: Part) -> np.ndarray:
    """The row hashes of one part, in row order."""
    import pyarrow.parquet as pq

    return pq.read_table(ws.datasets / part.name, columns=[HASH_COLUMN]).column(0).to_numpy()


def rewrite_part(ws: Workspace, part: Part, keep: np.ndarray) -> Part | None:
    """A new part holding the rows of ``part`` where ``keep`` is true (None when none is);
    the old part file is deleted (it belongs to no committed version yet)."""
    import pandas as pd

    frame = pd.read_parquet(ws.datasets / part.name)
    new = write_part(ws, frame.loc[keep].reset_index(drop=True)) if keep.any() else None
    (ws.datasets / part.name).unlink(missing_ok=True)
    return new


def commit_version(db: Database, *, parts: tuple[Part, ...], schema: DataSchema, rows: int) -> int:
    """Insert a new version (call inside the caller's transaction); returns its number."""
    top = db.scalar("SELECT MAX(version) FROM dataset_versions")
    version = 1 if top is None else int(top) + 1
    fingerprint = hashlib.sha256("".join(p.sha256 for p in parts).encode()).hexdigest()
    db.execute(
        "INSERT INTO dataset_versions (version, created_at, rows, fingerprint, parts, schema) "
        "VALUES (:v, :t, :n, :f, :p, :s)",
        {
            "v": version,
            "t": now(),
            "n": rows,
            "f": fingerprint,
            "p": json.dumps([p.__dict__ for p in parts]),
            "s": schema.to_json(),
        },
    )
    return version


def seen_hashes(ws: Workspace, version: DatasetVersion | None) -> np.ndarray:
    """Sorted row hashes of every stored row (8 bytes a row)."""
    import numpy as np
    import pyarrow.parquet as pq

    if version is None or not version.parts:
        return np.empty(0, dtype=np.uint64)
    arrays = [
        pq.read_table(ws.datasets / p.name, columns=[HASH_COLUMN]).column(0).to_numpy()
        for p in version.parts
    ]
    return np.sort(np.concatenate(arrays))


@dataclass(frozen=True)
class Rows:
    """Rows of a dataset (storage columns) and their stored row keys (content hashes)."""

    frame: pd.DataFrame
    keys: np.ndarray


@dataclass
class StoredRows:
    """Every row of a version's parts, read once; views select parts and apply ``dedupe``."""

    version: DatasetVersion
    raw: pd.DataFrame
    part_of_row: np.ndarray
    _views: dict[tuple[str, ...], Rows] = field(default_factory=dict)

    def view(self, parts: tuple[Part, ...] | None = None) -> Rows:
        """The rows of some parts (default: all), later records superseding earlier ones."""
        import numpy as np

        chosen = self.version.parts if parts is None else parts
        key = tuple(p.name for p in chosen)
        if key not in self._views:
            index = {p.name: i for i, p in enumerate(self.version.parts)}
            wanted = np.array([index[n] for n in key], dtype=np.int64)
            data = self.raw
            if len(wanted) != len(self.version.parts):
                data = data.loc[np.isin(self.part_of_row, wanted)]
            schema = self.version.schema
            if schema.dedupe == "latest":
                data = data.drop_duplicates(subset=list(schema.key), keep="last")
            data = data.reset_index(drop=True)
            keys = data[HASH_COLUMN].to_numpy()
            self._views[key] = Rows(data.drop(columns=[HASH_COLUMN]), keys)
        return self._views[key]


def read_rows(ws: Workspace, version: DatasetVersion) -> StoredRows:
    """Read every part of a version (checked against its recorded size) into memory once.

    Raises:
        DataError: a part is missing or unreadable.
    """
    import numpy as np
    import pandas as pd

    frames, owner = [], []
    for i, part in enumerate(version.parts):
        path = ws.datasets / part.name
        if not path.is_file():
            raise DataError(f"{path}: dataset part of version {version.version} is missing")
        frame = pd.read_parquet(path)
        if len(frame) != part.rows:
            raise DataError(
                f"{path}: dataset part of version {version.version} has {len(frame)} rows, "
                f"{part.rows} recorded"
            )
        frames.append(frame)
        owner.append(np.full(len(frame), i, dtype=np.int64))
    if not frames:
        columns = [*version.schema.columns, HASH_COLUMN]
        return StoredRows(version, pd.DataFrame(columns=columns), np.empty(0, dtype=np.int64))
    raw = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return StoredRows(version, raw, np.concatenate(owner))


def load_dataset(
    ws: Workspace, version: DatasetVersion, *, parts: tuple[Part, ...] | None = None
) -> pd.DataFrame:
    """The rows of a version (or of some of its parts), later records superseding earlier ones.

    A one-off read; a run reads through its context (:mod:`riskwatch.context`) instead.
    """
    return read_rows(ws, version).view(parts).frame


def remove_orphans(ws: Workspace, db: Database) -> list[Path]:
    """Delete part files no committed version references and the temp files of writes a kill
    interrupted (in ``datasets/`` and ``quarantine/``), left by a killed ingestion.

    Call only while holding the workspace lock.
    """
    referenced: set[str] = set()
    for (parts,) in db.execute("SELECT parts FROM dataset_versions"):
        referenced.update(p["name"] for p in json.loads(parts))
    removed = []
    if ws.datasets.is_dir():
        for path in ws.datasets.iterdir():
            stale_tmp = path.name.startswith(".") and path.name.endswith(".tmp")
            if stale_tmp or (path.name.startswith("part-") and path.name not in referenced):
                path.unlink(missing_ok=True)
                removed.append(path)
    if ws.quarantine.is_dir():
        for path in ws.quarantine.glob(".*.tmp"):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed

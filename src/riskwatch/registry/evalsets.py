"""Which rows a model trains on and is scored on.

The evaluation set is the configured labelled file/folder (the course's ``testdata``), or else a
hold-out chosen at training time: the newest snapshots when the contract has a snapshot column
(time-based), otherwise a stratified random split. The hold-out's row hashes are stored with the
model, so later scores use exactly the same rows and training never sees them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from riskwatch.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.config import Settings
    from riskwatch.registry.store import LoadedModel
    from riskwatch.schema import DataSchema
    from riskwatch.storage.db import Database
    from riskwatch.storage.workspace import Workspace

HOLDOUT = "holdout.npy"


def labelled(frame: pd.DataFrame, schema: DataSchema) -> pd.DataFrame:
    """Rows whose label is known."""
    return frame.loc[frame[schema.target_column].notna()].reset_index(drop=True)


def labels(frame: pd.DataFrame, schema: DataSchema) -> np.ndarray:
    """The 0/1 labels of labelled rows."""
    return frame[schema.target_column].astype("int64").to_numpy()


def choose_holdout(
    frame: pd.DataFrame, schema: DataSchema, fraction: float, seed: int
) -> tuple[np.ndarray, str]:
    """A boolean hold-out mask and how it was chosen (time-based or stratified)."""
    n = len(frame)
    snap = schema.snapshot_column
    if snap and snap in frame.columns and frame[snap].nunique() > 1:
        dates = frame[snap]
        counts = dates.value_counts().sort_index(ascending=False)
        chosen: list[Any] = []
        total = 0
        for date, count in counts.items():
            if total >= fraction * n or len(chosen) == len(counts) - 1:
                break
            chosen.append(date)
            total += int(count)
        return dates.isin(
            chosen
        ).to_numpy(), f"time-based: the newest snapshot(s) {', '.join(map(str, chosen))}"
    rng = np.random.default_rng(seed)
    y = labels(frame, schema)
    mask = np.zeros(n, dtype=bool)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        take = round(len(idx) * fraction)
        if len(idx) >= 2 and take == 0:
            take = 1
        mask[rng.choice(idx, size=min(take, max(len(idx) - 1, 0)), replace=False)] = True
    return mask, f"stratified random {fraction:.0%} (seed {seed})"


def row_keys(frame: pd.DataFrame, schema: DataSchema) -> np.ndarray:
    """A content hash per row, to find hold-out rows again."""
    from riskwatch.ingestion import row_hashes

    return np.asarray(row_hashes(frame[[c for c in schema.columns if c in frame.columns]], schema))


def read_eval_path(path: Path, schema: DataSchema) -> pd.DataFrame:
    """Labelled evaluation rows from a CSV/Parquet file or folder, validated by the contract."""
    import pandas as pd

    from riskwatch.ingestion import check_columns, validate
    from riskwatch.storage.files import read_chunks

    files = (
        [path]
        if path.is_file()
        else sorted(
            p
            for p in path.rglob("*")
            if p.suffix.lower() in (".csv", ".parquet") and not p.name.startswith(".")
        )
    )
    if not files:
        raise DataError(f"{path}: evaluation.path has no CSV or Parquet file")
    frames = []
    for f in files:
        for chunk in read_chunks(f, text_columns=(schema.id_column,)):
            check_columns([c for c in chunk.columns if c != "_rw_row"], schema)
            valid, _ = validate(chunk, schema)
            frames.append(valid.drop(columns=[c for c in valid.columns if c.startswith("_rw_")]))
    return labelled(pd.concat(frames, ignore_index=True), schema)


def eval_path_identity(path: Path) -> tuple[str, str]:
    """(name, fingerprint) of a configured evaluation path."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        digest.update(f.read_bytes())
    return f"file:{path}", digest.hexdigest()


def dataset_frame(ws: Workspace, db: Database, version: int) -> pd.DataFrame:
    """All rows of a dataset version."""
    from riskwatch.storage.datasets import get_version, load_dataset

    return load_dataset(ws, get_version(db, version))


def evaluation_frame(
    settings: Settings, ws: Workspace, db: Database, model: LoadedModel | int
) -> pd.DataFrame:
    """The rows a model is scored on: the configured set, else its recorded hold-out."""
    from riskwatch.registry.store import model_dir, model_row

    version = model if isinstance(model, int) else model.version
    row = model_row(db, version)
    card: dict[str, Any] = row["card"]
    schema = _schema(card)
    if str(row["eval_set"]).startswith("file:"):
        return read_eval_path(Path(str(row["eval_set"])[5:]), schema)
    keys = np.load(model_dir(ws, version) / HOLDOUT)
    frame = labelled(dataset_frame(ws, db, int(row["dataset_version"])), schema)
    return frame.loc[np.isin(row_keys(frame, schema), keys)].reset_index(drop=True)


def training_frame(
    settings: Settings, ws: Workspace, db: Database, model: LoadedModel | int
) -> pd.DataFrame:
    """The rows a model was fitted on (the drift reference)."""
    from riskwatch.registry.store import model_dir, model_row

    version = model if isinstance(model, int) else model.version
    row = model_row(db, version)
    schema = _schema(row["card"])
    frame = labelled(dataset_frame(ws, db, int(row["dataset_version"])), schema)
    path = model_dir(ws, version) / HOLDOUT
    if path.exists():
        frame = frame.loc[~np.isin(row_keys(frame, schema), np.load(path))].reset_index(drop=True)
    return frame


def _schema(card: dict[str, Any]) -> DataSchema:
    from riskwatch.schema import DataSchema

    return DataSchema.from_json(card["schema"])

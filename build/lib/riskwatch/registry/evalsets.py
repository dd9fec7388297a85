"""The rows a model was trained on and is evaluated on, from the run context (no re-reading).

The evaluation set is the configured labelled file/folder (the course's ``testdata``), or else the
hold-out recorded at training time (row keys in the model folder). Training rows are the labelled
rows of the model's dataset version minus that hold-out.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from riskwatch.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from riskwatch.context import RunContext
    from riskwatch.schema import DataSchema


def evaluation_rows(ctx: RunContext, version: int) -> pd.DataFrame:
    """The labelled rows model ``version`` is scored on (cached in the context)."""
    key = ("eval", version)
    if key not in ctx.cache:
        ctx.cache[key] = _evaluation_rows(ctx, version)
    frame: pd.DataFrame = ctx.cache[key]
    return frame


def training_rows(ctx: RunContext, version: int) -> pd.DataFrame:
    """The labelled rows model ``version`` was fitted on (its drift reference)."""
    key = ("train", version)
    if key not in ctx.cache:
        import numpy as np

        from riskwatch.storage.models import holdout_keys, model_row

        row = model_row(ctx.db, version)
        frame, keys = _labelled(ctx, int(row["dataset_version"]))
        held = holdout_keys(ctx.ws, version)
        if held is not None and not row["card"].get("refit_on_all_rows"):
            frame = frame.loc[~np.isin(keys, held)].reset_index(drop=True)
        ctx.cache[key] = frame
    out: pd.DataFrame = ctx.cache[key]
    return out


def _evaluation_rows(ctx: RunContext, version: int) -> pd.DataFrame:
    import numpy as np

    from riskwatch.storage.datasets import get_version
    from riskwatch.storage.models import holdout_keys, model_row

    row = model_row(ctx.db, version)
    if str(row["eval_set"]).startswith("file:"):
        stored = get_version(ctx.db, int(row["dataset_version"])).schema
        return read_eval_path(Path(str(row["eval_set"])[5:]), stored)
    frame, keys = _labelled(ctx, int(row["dataset_version"]))
    held = holdout_keys(ctx.ws, version)
    if held is None:
        return frame.iloc[:0]
    return frame.loc[np.isin(keys, held)].reset_index(drop=True)


def _labelled(ctx: RunContext, dataset_version: int) -> tuple[pd.DataFrame, np.ndarray]:
    rows = ctx.data(dataset_version)
    target = ctx.rows().version.schema.target_column
    mask = rows.frame[target].notna().to_numpy()
    return rows.frame.loc[mask].reset_index(drop=True), rows.keys[mask]


def read_eval_path(path: Path, schema: DataSchema) -> pd.DataFrame:
    """Labelled evaluation rows from a CSV/Parquet file or folder, validated by the contract."""
    import pandas as pd

    from riskwatch.ingest.rules import check_columns, validate
    from riskwatch.model.splits import labelled
    from riskwatch.schema import ROW_COLUMN
    from riskwatch.storage.files import data_files_in, read_chunks

    files = data_files_in(path)
    if not files:
        raise DataError(f"{path}: evaluation.path has no CSV or Parquet file")
    frames = []
    for f in files:
        for chunk in read_chunks(f, text_columns=(schema.id_column,)):
            check_columns([c for c in chunk.columns if c != ROW_COLUMN], schema)
            valid, _ = validate(chunk, schema)
            frames.append(valid)
    return labelled(pd.concat(frames, ignore_index=True), schema)

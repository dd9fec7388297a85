"""The model search's cross-validation on the cluster, through joblib's dask backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from riskwatch.config import EngineSettings


@contextmanager
def search_jobs(engine: EngineSettings) -> Iterator[tuple[int | None, str]]:
    """(``n_jobs`` for scikit-learn, where the folds run) for the configured engine.

    Locally the folds run one after another in this process (``n_jobs=None``); with the dask
    engine every fit of every fold is a task on the cluster (``n_jobs=-1``).
    """
    if engine.kind != "dask":
        yield None, "local"
        return
    from joblib import parallel_config

    from riskwatch.engine.cluster import checked_client, where

    client = checked_client(engine)
    try:
        workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
        with parallel_config(backend="dask"):
            yield -1, f"dask {where(engine)} ({workers} workers)"
    finally:
        client.close()

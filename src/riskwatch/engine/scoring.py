"""Batch scoring on a Dask cluster: the champion sent to the workers once, one task per partition.

Each task applies the same pure functions as the local path
(:func:`riskwatch.answers.predictions.scored_rows`), so a client gets the same risk whichever
engine scored it; only ids, risks and values come back to this process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.config import EngineSettings
    from riskwatch.model.scoring import LoadedModel


def score_partition(part: pd.DataFrame, number: int, total: int, model: Any, source: str) -> Any:
    """Score one partition on a worker, one BLAS/OpenMP thread per worker thread."""
    from threadpoolctl import threadpool_limits

    from riskwatch.answers.predictions import scored_rows

    with threadpool_limits(1):
        return scored_rows(model, part, where=f"{source} (partition {number + 1} of {total})")


def held(model: Any) -> Any:
    """The champion as a task result: a worker computes it once and the others fetch it."""
    return model


def score_source(engine: EngineSettings, model: LoadedModel, source: str) -> pd.DataFrame:
    """id, risk (and value_at_risk) of every row of ``source``, scored on the cluster.

    Raises:
        SourceUnavailable / ConfigError: the cluster cannot be used (see ``checked_client``).
        NotFound / DataError: the input is missing, unreadable or breaks the model's columns.
    """
    import dask
    import pandas as pd

    from riskwatch.engine.cluster import checked_client, gathered, progress
    from riskwatch.storage.remote import partitions

    parts = partitions(source, storage_options=engine.storage_options, blocksize=engine.blocksize)
    client = checked_client(engine)
    try:
        # once, not once per task; a task (not scattered data) so that if every worker that
        # holds it is lost (the active memory manager keeps one replica) it is computed again
        shared = client.submit(held, model, pure=False)
        tasks = [
            dask.delayed(score_partition)(part, n, len(parts), shared, source)
            for n, part in enumerate(parts)
        ]
        # a window of partitions at a time: the workers hold at most one window of results,
        # and gather() waits for any task a lost worker had finished to be computed again
        window = 4 * max(1, sum(client.nthreads().values()))
        results: list[Any] = []
        with progress("scoring partitions", len(tasks)) as wait:
            for start in range(0, len(tasks), window):
                futures = client.compute(tasks[start : start + window])
                wait(futures)
                results += gathered(client, futures, engine)
                del futures
    finally:
        client.close()
    return pd.concat(results, ignore_index=True)

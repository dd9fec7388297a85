"""Reading the files of a drop folder on a Dask cluster: one task per file.

Each task runs the same function as the local path (:func:`riskwatch.ingest.unit.read_unit`):
read in bounded chunks, validate, set rows aside, hash, deduplicate within the file, write
Parquet parts and the quarantine file into the workspace (which every worker must reach: one
machine, or a shared file system). The driver then adds the files in order
(:func:`riskwatch.ingest.unit.merge_outcome`): rows already stored or in an earlier file count
as duplicates, as in one process, and only this process writes the metadata database.

A task lost with its worker runs again elsewhere; the parts the lost attempt wrote belong to
no version and are removed under the workspace lock (``remove_orphans``), so nothing is
ingested twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from riskwatch.config import Settings
    from riskwatch.ingest.sources import Source, Unit
    from riskwatch.ingest.unit import UnitOutcome
    from riskwatch.schema import DataSchema
    from riskwatch.storage.workspace import Workspace


def read_file(
    settings: Settings, ws: Workspace, source: Source, unit: Unit, schema: DataSchema
) -> UnitOutcome:
    """One file on a worker, one BLAS/OpenMP thread per worker thread."""
    from threadpoolctl import threadpool_limits

    from riskwatch.ingest.unit import read_unit

    with threadpool_limits(1):
        return read_unit(settings, ws, source, unit, schema, [], set())


def read_files(
    settings: Settings, ws: Workspace, source: Source, units: list[Unit], schema: DataSchema
) -> list[UnitOutcome]:
    """The outcome of each of ``units`` (files of one folder source), in their order.

    Raises:
        SourceUnavailable / ConfigError: the cluster cannot be used, or lost the work.
    """
    import uuid

    from riskwatch.engine.cluster import checked_client, gathered, progress

    client = checked_client(settings.engine)
    try:
        run = uuid.uuid4().hex[:8]
        with progress(f"{source.name}: reading files", len(units)) as wait:
            futures = [
                client.submit(
                    read_file, settings, ws, source, unit, schema, key=f"ingest-{run}-{n}"
                )
                for n, unit in enumerate(units)
            ]
            wait(futures)
        outcomes: list[UnitOutcome] = gathered(client, futures, settings.engine)
    finally:
        client.close()
    return outcomes

"""A uniform sample of a file too large for one process, drawn on the cluster.

Each partition keys its rows with seeded random numbers and keeps its ``keep`` smallest keys;
partial samples are merged pairwise on the workers (a tree), keeping the ``keep`` smallest keys
again. The result is an exact uniform sample without replacement of the whole file (the whole
file, in another order, when it has at most ``keep`` rows), and the driver only ever holds
``keep`` rows. The drift check then runs its usual tests on the sample, and says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.config import EngineSettings

KEY = "_rw_sample_key"


def sample_partition(part: pd.DataFrame, number: int, keep: int, seed: int) -> pd.DataFrame:
    """The ``keep`` rows of ``part`` with the smallest seeded random keys (and their keys)."""
    import numpy as np

    keys = np.random.default_rng([seed, number]).random(len(part))
    out = part.assign(**{KEY: keys})
    return out.nsmallest(keep, KEY) if len(out) > keep else out


def merge(a: pd.DataFrame, b: pd.DataFrame, keep: int) -> pd.DataFrame:
    """Two partial samples as one (the ``keep`` smallest keys of both)."""
    import pandas as pd

    both = pd.concat([a, b], ignore_index=True)
    return both.nsmallest(keep, KEY) if len(both) > keep else both


def sample_source(
    engine: EngineSettings, source: str, *, keep: int, seed: int = 0
) -> tuple[pd.DataFrame, int]:
    """(a uniform sample of at most ``keep`` rows, the number of rows) of ``source``.

    Raises:
        SourceUnavailable / ConfigError: the cluster cannot be used.
        NotFound / DataError: the input is missing or unreadable.
    """
    import dask

    from riskwatch.engine.cluster import checked_client, gathered, progress
    from riskwatch.storage.remote import partitions

    parts = partitions(source, storage_options=engine.storage_options, blocksize=engine.blocksize)
    level: list[Any] = [
        dask.delayed(sample_partition)(p, n, keep, seed) for n, p in enumerate(parts)
    ]
    counts = [dask.delayed(len)(p) for p in parts]
    while len(level) > 1:
        pairs = [level[i : i + 2] for i in range(0, len(level), 2)]
        level = [dask.delayed(merge)(*p, keep) if len(p) == 2 else p[0] for p in pairs]
    client = checked_client(engine)
    try:
        with progress(f"sampling {len(parts)} partitions", 2) as wait:
            futures = client.compute([level[0], dask.delayed(sum)(counts)])
            wait(futures)
        sample, sizes = gathered(client, futures, engine)
    finally:
        client.close()
    return sample.drop(columns=KEY).reset_index(drop=True), int(sizes)

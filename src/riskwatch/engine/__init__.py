"""Where batch work runs: ``[engine] kind = "local"`` (this process) or ``"dask"`` (a cluster).

The pure functions stay the single source of each rule; the engine only decides where they run.
Nothing here is imported unless the dask engine or ``riskwatch cluster`` is asked for.
"""

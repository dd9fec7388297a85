"""Threads for numeric work: how many, set in code (threadpoolctl), never left to the shell.

scikit-learn's OpenMP threads spin while they wait for a core; when another process holds that
core, one prediction can take a second and one training 100x its time. So riskwatch sets the
OpenMP wait policy to passive before any numeric library loads, scores single API requests with
one thread (in every request thread: OpenMP counts threads per calling thread), and trains with
the cores this process may use (``[runtime] threads``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

PASSIVE = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}
_THIS_THREAD = threading.local()


def prepare_environment() -> None:
    """Make OpenMP threads sleep instead of spinning (call before numpy/scikit-learn load).

    Values the user set in the environment are kept.
    """
    for key, value in PASSIVE.items():
        os.environ.setdefault(key, value)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_threads(setting: int | None) -> int:
    """The configured number of threads, or every available core."""
    return max(1, setting) if setting else available_cores()


def _load_pools() -> None:
    """Load numpy's BLAS and scikit-learn's OpenMP runtime: threadpoolctl only limits the thread
    pools of libraries already loaded."""
    import numpy  # noqa: F401
    import sklearn.utils._openmp_helpers  # noqa: F401


@contextmanager
def limited(threads: int) -> Iterator[None]:
    """Limit OpenMP and BLAS thread pools inside the block."""
    from threadpoolctl import threadpool_limits

    _load_pools()
    with threadpool_limits(limits=threads):
        yield


def limit_process(threads: int) -> None:
    """Limit OpenMP and BLAS thread pools for the rest of the process (the API server)."""
    from threadpoolctl import threadpool_limits

    _load_pools()
    threadpool_limits(limits=threads)


def one_thread_here() -> None:
    """One thread for the BLAS pools and for this thread's OpenMP pool, once per thread.

    OpenMP's thread count belongs to the calling thread, so each of the API's request threads
    needs it (``riskwatch serve`` also sets ``OMP_NUM_THREADS=1`` before OpenMP loads).
    """
    if getattr(_THIS_THREAD, "limited", False):
        return
    limit_process(1)
    _THIS_THREAD.limited = True

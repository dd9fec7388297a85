"""Connect to a Dask scheduler and check that its workers can run riskwatch's code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riskwatch.errors import ConfigError, SourceUnavailable, require

if TYPE_CHECKING:
    from distributed import Client

    from riskwatch.config import EngineSettings

# what must match between this process and every worker for a pickled model to mean the same
PACKAGES = ("riskwatch", "scikit-learn", "numpy", "pandas", "pyarrow", "scipy", "joblib")


@dataclass(frozen=True)
class Worker:
    """One worker as the scheduler sees it."""

    address: str
    name: str
    threads: int
    memory_limit: int  # bytes; 0 when the worker has none


@dataclass(frozen=True)
class ClusterInfo:
    """What ``riskwatch cluster check`` reports."""

    scheduler: str
    workers: list[Worker]
    versions: dict[str, str]
    mismatches: list[str] = field(default_factory=list)

    @property
    def threads(self) -> int:
        """Threads over all workers."""
        return sum(w.threads for w in self.workers)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "scheduler": self.scheduler,
            "workers": [vars(w) for w in self.workers],
            "threads": self.threads,
            "memory_limit": sum(w.memory_limit for w in self.workers),
            "versions": self.versions,
            "mismatches": self.mismatches,
        }


def where(engine: EngineSettings) -> str:
    """The scheduler as named in the settings (for messages)."""
    return engine.address or f"scheduler file {engine.scheduler_file}"


def connect(engine: EngineSettings) -> Client:
    """A client of the configured scheduler.

    Raises:
        ConfigError: the 'dask' extra is not installed.
        SourceUnavailable: the scheduler cannot be reached within the connect timeout.
    """
    require("distributed", "dask", "[engine] kind = 'dask'")
    from distributed import Client

    timeout = engine.connect_timeout_seconds
    try:
        if engine.scheduler_file is not None:
            if not engine.scheduler_file.is_file():
                raise SourceUnavailable(f"dask {where(engine)}: no such file (is it running?)")
            return Client(scheduler_file=str(engine.scheduler_file), timeout=timeout)
        return Client(engine.address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceUnavailable(f"dask scheduler {where(engine)} unreachable: {first}") from None


def local_versions() -> dict[str, str]:
    """Versions of :data:`PACKAGES` in this process (runs on workers too)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def _worker_versions() -> dict[str, str]:
    """What a worker reports (its own import of this module)."""
    from riskwatch.engine.cluster import local_versions as versions

    return versions()


def check(client: Client) -> ClusterInfo:
    """Workers, threads and memory, and every worker's versions compared with this process's."""
    info = client.scheduler_info(n_workers=-1)
    workers = [
        Worker(
            address=addr,
            name=str(w.get("name", addr)),
            threads=int(w.get("nthreads", 0)),
            memory_limit=int(w.get("memory_limit") or 0),
        )
        for addr, w in sorted(info.get("workers", {}).items())
    ]
    mine = local_versions()
    try:
        theirs: dict[str, dict[str, str]] = client.run(_worker_versions) if workers else {}
    except Exception as exc:  # workers that cannot import this riskwatch run other code
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return ClusterInfo(
            info.get("address", "?"), workers, mine, [f"workers cannot run riskwatch: {detail}"]
        )
    mismatches = [
        f"{addr}: {name} {got} (here {mine[name]})"
        for addr, versions in sorted(theirs.items())
        for name, got in versions.items()
        if got != mine.get(name)
    ]
    try:  # dask's own check: python, dask, distributed, cloudpickle, ...
        client.get_versions(check=True)
    except ValueError as exc:
        mismatches.append(str(exc).strip().splitlines()[0])
    return ClusterInfo(info.get("address", "?"), workers, mine, mismatches)


def checked_client(engine: EngineSettings) -> Client:
    """A client whose cluster has workers with the same versions as this process.

    Raises:
        SourceUnavailable: unreachable, or no worker joined within the connect timeout.
        ConfigError: a worker runs other versions (named in the message).
    """
    client = connect(engine)
    try:
        try:
            client.wait_for_workers(1, timeout=engine.connect_timeout_seconds)
        except (OSError, TimeoutError):
            raise SourceUnavailable(f"dask scheduler {where(engine)}: no worker joined") from None
        info = check(client)
        if info.mismatches:
            more = f" (and {len(info.mismatches) - 1} more)" if len(info.mismatches) > 1 else ""
            raise ConfigError(f"dask workers differ from this process: {info.mismatches[0]}{more}")
    except BaseException:
        client.close()
        raise
    return client


def gathered(client: Client, futures: Any, engine: EngineSettings) -> Any:
    """``client.gather(futures)``, with the cluster's own failures as one-line errors.

    A task's own exception (a data error in a partition) is raised as it is.

    Raises:
        SourceUnavailable: the cluster lost the work (workers killed beyond the retry budget,
            the scheduler gone, tasks cancelled).
    """
    from concurrent.futures import CancelledError  # what distributed's cancellations derive from

    from distributed import KilledWorker
    from distributed.comm import CommClosedError

    try:
        return client.gather(futures)
    except (KilledWorker, CancelledError, CommClosedError, OSError, TimeoutError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise SourceUnavailable(
            f"dask {where(engine)} lost the work ({type(exc).__name__}: {first}); nothing was"
            " written, run it again"
        ) from None


@contextmanager
def progress(label: str, total: int) -> Iterator[Callable[[list[Any]], None]]:
    """A progress bar of one task group on stderr, advanced as the scheduler reports tasks
    finished: yields ``wait(futures)``. On anything but a terminal it shows nothing and
    ``wait`` returns at once (``gathered`` waits anyway)."""
    import sys

    if total <= 0 or not sys.stderr.isatty():
        yield lambda futures: None
        return
    from distributed import as_completed
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)

        def wait(futures: list[Any]) -> None:
            for _ in as_completed(futures):
                bar.advance(task)

        yield wait

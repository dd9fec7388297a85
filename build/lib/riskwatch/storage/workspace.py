"""Workspace layout, atomic writes and the workspace lock."""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskwatch.errors import LockBusy

_HELD: set[Path] = set()


@dataclass(frozen=True)
class Workspace:
    """The folder that holds all persistent state."""

    root: Path

    @property
    def datasets(self) -> Path:
        """Immutable dataset parts (Parquet)."""
        return self.root / "datasets"

    @property
    def quarantine(self) -> Path:
        """Rejected rows with their reasons."""
        return self.root / "quarantine"

    @property
    def models(self) -> Path:
        """Model artifacts and cards."""
        return self.root / "models"

    @property
    def reports(self) -> Path:
        """Reports, one folder per report."""
        return self.root / "reports"

    @property
    def logs(self) -> Path:
        """Log files of scheduled runs."""
        return self.root / "logs"

    @property
    def cache(self) -> Path:
        """Derived, rebuildable data (dependency lookups and such)."""
        return self.root / "cache"

    def ensure(self) -> Workspace:
        """Create the folders (idempotent) and return self."""
        for folder in (self.root, self.datasets, self.quarantine, self.models, self.reports):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    @contextmanager
    def lock(self, name: str = "workspace", *, wait: bool = False) -> Iterator[None]:
        """Hold an exclusive lock on the workspace.

        The lock is an ``flock`` on a file, released by the kernel when the holder dies, so a
        killed run never leaves a stale lock behind.

        Raises:
            LockBusy: another process holds the lock and ``wait`` is false.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f".{name}.lock"
        if path in _HELD:  # re-entrant within one process (run -> ingest -> train)
            yield
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                    raise LockBusy(
                        f"{path}: another riskwatch process (pid {holder}) is running; "
                        "try again when it has finished"
                    ) from None
                raise
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            _HELD.add(path)
            try:
                yield
            finally:
                _HELD.discard(path)
        finally:
            os.close(fd)


def read_cache(ws: Workspace, name: str) -> Any:
    """A JSON document from the workspace's cache folder, or None when absent or unreadable."""
    import json

    try:
        return json.loads((ws.cache / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_cache(ws: Workspace, name: str, data: Any) -> None:
    """Store a JSON document in the workspace's cache folder (atomically)."""
    import json

    atomic_write_text(ws.cache / name, json.dumps(data, indent=1, default=str))


def _file_mode() -> int:
    """The mode a new file gets under the process's umask (mkstemp would give 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, _file_mode())
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    For writers that need a file name (Parquet, PDF, PNG).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, _file_mode())
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

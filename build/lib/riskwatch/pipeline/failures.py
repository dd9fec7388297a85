"""How a run fails: one line for a failure of the machine, recorded without a second error.

A full disk, a read-only or unwritable folder or an I/O error is not a bug: the run says so in
one line (a :class:`~riskwatch.errors.RiskwatchError`) instead of a traceback. Recording the
failure happens on the same full disk, so it is best effort and never raises on top of the
original error. Temp report folders left by a run killed while writing are removed by the next.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskwatch.storage.workspace import Workspace

log = logging.getLogger("riskwatch.pipeline")
MACHINE_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EIO", "EACCES", "EPERM")
    if hasattr(errno, name)
)


def machine_error(exc: BaseException) -> str | None:
    """One line for a failure of the machine rather than of riskwatch (disk full, read-only or
    unwritable folder, I/O error, a full database), else None (a bug keeps its traceback)."""
    if isinstance(exc, OSError) and exc.errno in MACHINE_ERRNOS:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or os.strerror(exc.errno or 0)}"
    name, text = type(exc).__name__, str(exc)
    if name == "DiskFull" or (name == "OperationalError" and "disk is full" in text):
        return f"metadata database: {(text.splitlines() or [name])[0]}"  # SQLite or PostgreSQL
    return None


def one_line(exc: BaseException) -> str:
    """The message of a failure, on one line, for the run history."""
    return machine_error(exc) or (str(exc).splitlines() or [type(exc).__name__])[0]


def best_effort(what: str, record: Callable[[], Any]) -> None:
    """Call ``record``; if it fails too (the disk is full), log ``what`` in one line, no traceback."""
    try:
        record()
    except Exception as exc:
        log.warning("%s (%s)", what, (str(exc).splitlines() or [type(exc).__name__])[0])


def remove_orphans(ws: Workspace) -> None:
    """Remove temp report folders left by a killed run (the caller holds the workspace lock)."""
    from riskwatch.storage.reports import remove_stale_tmp

    for path in remove_stale_tmp(ws):
        log.info("removed %s, left by a run that was stopped while writing its report", path)

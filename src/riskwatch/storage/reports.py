"""Report folders: each report is written whole into a new folder, never over an earlier one.

A report that cannot be written (disk full, folder not writable) leaves no temp folder behind
and raises a one-line :class:`~riskwatch.errors.RiskwatchError`; temp folders of a run that was
killed while writing are removed by the next run (:func:`remove_stale_tmp`).

Fault injection for tests only: with ``RISKWATCH_TEST_FAIL_REPORT=<errno name>`` (e.g.
``ENOSPC``) in the environment, :func:`write_report` fails with that ``OSError`` after writing
its first file, as a full disk would. Nothing else reads the variable.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskwatch.errors import RiskwatchError

if TYPE_CHECKING:
    from riskwatch.storage.workspace import Workspace

TMP_PREFIX = ".tmp-"
FAULT_ENV = "RISKWATCH_TEST_FAIL_REPORT"
FIGURES = "figures"


def write_report(ws: Workspace, files: dict[str, bytes]) -> Path:
    """Write ``files`` into a hidden temp folder, sync them, then rename it to
    ``reports/<UTC timestamp>-<n>/`` (readers never see a half-written report).

    Raises:
        RiskwatchError: the folder cannot be written (disk full, read-only, no permission).
    """
    tmp = ws.reports / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    try:
        ws.reports.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        for i, (name, data) in enumerate(files.items()):
            if i == 1:
                _injected_fault(tmp / name)
            with (tmp / name).open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        folder = _final_name(ws.reports)
        tmp.rename(folder)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            reason = exc.strerror or type(exc).__name__
            raise RiskwatchError(
                f"{ws.reports}: cannot write the report ({reason}); nothing was kept, the next "
                "run writes it"
            ) from None
        raise
    return folder


def _injected_fault(path: Path) -> None:
    """Raise the ``OSError`` named by ``RISKWATCH_TEST_FAIL_REPORT`` (tests only)."""
    name = os.environ.get(FAULT_ENV)
    code = getattr(errno, name, None) if name else None
    if isinstance(code, int):
        raise OSError(code, os.strerror(code), str(path))


def remove_stale_tmp(ws: Workspace) -> list[Path]:
    """Delete temp folders left by a killed report step (call while holding the lock)."""
    if not ws.reports.is_dir():
        return []
    stale = [p for p in ws.reports.iterdir() if p.is_dir() and p.name.startswith(TMP_PREFIX)]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def report_folders(ws: Workspace) -> list[Path]:
    """Finished report folders, oldest first."""
    if not ws.reports.is_dir():
        return []
    return sorted(
        p for p in ws.reports.iterdir() if p.is_dir() and not p.name.startswith((".", "api"))
    )


def _final_name(root: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    n = 1
    while (root / f"{stamp}-{n}").exists():
        n += 1
    return root / f"{stamp}-{n}"


def previous_report(ws: Workspace) -> dict[str, Any] | None:
    """The newest finished report: its folder name, time (UTC, from the name), its
    ``apireturns.json`` and ``summary.json`` (None when absent or unreadable)."""
    for folder in reversed(report_folders(ws)):
        answers = _read_json(folder / "apireturns.json")
        if answers is None:
            continue
        try:
            at = datetime.strptime(folder.name.split("-")[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            continue
        return {
            "folder": folder.name,
            "at": at.isoformat(),
            "answers": answers,
            "summary": _read_json(folder / "summary.json"),
        }
    return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def cached_figure(ws: Workspace, digest: str) -> bytes | None:
    """A figure rendered earlier from the same data (its PNG), or None."""
    try:
        return (ws.cache / FIGURES / f"{digest}.png").read_bytes()
    except OSError:
        return None


def store_figure(ws: Workspace, digest: str, png: bytes, *, keep: int = 300) -> None:
    """Keep a rendered figure by the digest of its data (atomic); the oldest beyond ``keep`` go."""
    from riskwatch.storage.workspace import atomic_write_bytes

    folder = ws.cache / FIGURES
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(folder / f"{digest}.png", png)
        files = sorted(folder.glob("*.png"), key=lambda p: p.stat().st_mtime)
        for old in files[:-keep]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a cache: the figure is rendered again next time

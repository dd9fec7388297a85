"""Report folders: each report is written whole into a new folder, never over an earlier one."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from riskwatch.storage.workspace import Workspace

TMP_PREFIX = ".tmp-"


def write_report(ws: Workspace, files: dict[str, bytes]) -> Path:
    """Write ``files`` into a hidden temp folder, sync them, then rename it to
    ``reports/<UTC timestamp>-<n>/`` (readers never see a half-written report)."""
    ws.reports.mkdir(parents=True, exist_ok=True)
    tmp = ws.reports / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        for name, data in files.items():
            with (tmp / name).open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        folder = _final_name(ws.reports)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


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

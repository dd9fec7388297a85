"""A drop folder of CSV/Parquet files; a file is new when its content hash is new.

Listing is cheap: one ``stat`` per file, and a file is hashed only when its stamp (size,
mtime, inode, ctime) differs from the cached one. ``ctime`` cannot be set by a user, so an edit
that keeps size and mtime (``cp -p``, ``rsync -t``) is still seen. A file is read only once it
has been unchanged for ``settle_seconds``; temp names are never read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat as stat_mod
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from riskwatch.errors import SourceUnavailable, printable
from riskwatch.ingest.sources import Unit, UnitChanged
from riskwatch.storage.ingestions import (
    FileStamp,
    cache_file_hashes,
    file_hash_cache,
    settled_hashes,
)

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.storage.db import Database

DATA_SUFFIXES = (".csv", ".parquet")
# names writers use while a file is incomplete: never read (nor are names starting with "."
# or "~", and folders starting with "." or "_", such as Spark's _temporary)
TEMP_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".filepart", ".crdownload", ".download")
TRUST_AFTER_NS = 2_000_000_000  # a stamp this old reveals any later edit (coarse clocks)
NAME_LIMIT = 4096


@dataclass(frozen=True)
class Entry:
    """A file found in the folder: its real relative path, the name people see, its stamp,
    or why it is refused (then ``token`` stands in for its content hash)."""

    rel: str
    name: str
    stamp: FileStamp | None = None
    refused: str = ""
    token: str = ""


def scan(folder: Path, *, skip: tuple[Path, ...] = ()) -> list[Entry]:
    """Every data file under ``folder`` (recursively, sorted), and every link or special file
    that must be refused. Links are not followed out of the folder; ``skip`` folders and files
    (the workspace, the evaluation data) are left out.

    Raises:
        SourceUnavailable: the folder does not exist.
    """
    if not folder.is_dir():
        raise SourceUnavailable(f"{folder}: drop folder not found")
    root = os.path.realpath(folder)
    skipped = {os.path.realpath(p) for p in skip}
    found: list[Entry] = []

    def walk(real_dir: str, rel_dir: str) -> None:
        try:
            entries = sorted(os.scandir(os.path.join(root, rel_dir)), key=lambda e: e.name)
        except OSError as exc:  # a folder that cannot be listed is reported, not skipped
            if rel_dir:
                found.append(_refused(rel_dir, f"folder cannot be listed ({exc.strerror})", ""))
            return
        for entry in entries:
            rel = os.path.join(rel_dir, entry.name) if rel_dir else entry.name
            real = os.path.join(real_dir, entry.name)
            if real in skipped:
                continue
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if not entry.name.startswith((".", "_")):
                    walk(real, rel)
            elif _wanted(entry.name):
                found.append(_entry(folder, rel, real if not is_link else None, root, skipped))
            elif is_link and os.path.isdir(real) and not entry.name.startswith((".", "_")):
                target = os.path.realpath(real)
                if not _inside(target, root):
                    found.append(
                        _refused(
                            rel,
                            f"link to a folder outside the drop folder ({printable(target, 200)}); not followed",
                            target,
                        )
                    )

    walk(root, "")
    return found


def _wanted(name: str) -> bool:
    low = name.lower()
    return (
        low.endswith(DATA_SUFFIXES)
        and not low.endswith(TEMP_SUFFIXES)
        and not name.startswith((".", "~"))
    )


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _refused(rel: str, why: str, detail: str) -> Entry:
    token = hashlib.sha256(f"{rel}\0{why}\0{detail}".encode(errors="surrogateescape"))
    return Entry(rel, printable(rel, NAME_LIMIT), refused=why, token="refused:" + token.hexdigest())


def _entry(folder: Path, rel: str, real: str | None, root: str, skipped: set[str]) -> Entry:
    full = os.path.join(folder, rel)
    if real is None:  # a symbolic link: followed only while it stays inside the folder
        target = os.path.realpath(full)
        if not _inside(target, root) or any(_inside(target, s) for s in skipped):
            where = "outside the drop folder" if not _inside(target, root) else "into the workspace"
            return _refused(
                rel, f"symbolic link {where} ({printable(target, 200)}); not followed", target
            )
    try:
        st = os.stat(full)
    except FileNotFoundError:
        return _refused(
            rel, "broken symbolic link; not read", os.readlink(full) if real is None else ""
        )
    except OSError as exc:
        return _refused(rel, f"cannot be read ({exc.strerror})", str(exc.errno))
    if not stat_mod.S_ISREG(st.st_mode):
        return _refused(rel, "not a regular file; not read", f"{st.st_mode}:{st.st_ino}")
    return Entry(rel, printable(rel, NAME_LIMIT), stamp=stamp_of(st))


def stamp_of(st: os.stat_result) -> FileStamp:
    """The cheap identity of a file's content from ``stat``."""
    return FileStamp(st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class FolderSource:
    """Files dropped under a folder (recursively)."""

    name: str
    path: Path
    chunk_rows: int = 100_000
    settle_seconds: float = 3.0
    skip: tuple[Path, ...] = ()
    contract: str = ""
    _seen: dict[str, tuple[FileStamp, float]] = field(default_factory=dict, init=False, repr=False)

    @property
    def system_columns(self) -> tuple[str, ...]:
        """A file has no bookkeeping columns."""
        return ()

    @property
    def rereads(self) -> bool:
        """A file is read once."""
        return False

    def pending(self, db: Database, *, retry: bool = False) -> list[Unit]:
        """Files whose content was never ingested nor rejected under this contract as it is."""
        known = file_hash_cache(db, self.name)
        done = settled_hashes(db, contract=self.contract, retry=retry)
        units: list[Unit] = []
        fresh: list[tuple[str, FileStamp, str]] = []
        now_ns = time.time_ns()
        for entry in scan(self.path, skip=self.skip):
            if entry.refused or entry.stamp is None:
                if entry.token not in done:
                    units.append(Unit(self.name, entry.name, entry.token, refused=entry.refused))
                continue
            st, file = entry.stamp, self.path / entry.rel
            extra = {"path": entry.rel}
            cached = known.get(entry.name)
            if cached and cached[0] == st:  # unchanged since it was hashed (and settled)
                digest = cached[1]
            elif (wait := self._settle_in(entry.name, st, now_ns)) > 0:
                units.append(Unit(self.name, entry.name, size=st.size, extra=extra, settle_in=wait))
                continue
            else:
                try:
                    digest = file_sha256(file)
                    after = stamp_of(os.stat(file))
                except FileNotFoundError:
                    continue  # gone since it was listed
                except OSError as exc:
                    why = f"cannot be read ({exc.strerror})"
                    token = _refused(entry.rel, why, repr(st)).token
                    if token not in done:
                        units.append(Unit(self.name, entry.name, token, refused=why))
                    continue
                if after != st:  # written to while hashed
                    units.append(
                        Unit(self.name, entry.name, extra=extra, settle_in=self._wait_default())
                    )
                    continue
                trusted = now_ns - max(st.ctime_ns, st.mtime_ns) >= TRUST_AFTER_NS
                if trusted and digest in done:
                    fresh.append((entry.name, st, digest))
                extra["trusted"] = "1" if trusted else ""
            if digest in done:
                continue
            extra["stamp"] = _stamp_text(st)
            units.append(Unit(self.name, entry.name, digest, size=st.size, extra=extra))
        if fresh:
            with contextlib.suppress(Exception):  # a cache: a failed write costs a hash later
                cache_file_hashes(db, self.name, fresh)
        return units

    def _wait_default(self) -> float:
        return max(self.settle_seconds, 0.1)

    def _settle_in(self, name: str, st: FileStamp, now_ns: int) -> float:
        """Seconds until a file counts as settled (0: it is). A file settles when its last
        change is ``settle_seconds`` old, or when this process saw it unchanged that long
        (a clock-independent check for file systems whose clock runs ahead)."""
        if self.settle_seconds <= 0:
            return 0.0
        age = (now_ns - max(st.ctime_ns, st.mtime_ns)) / 1e9
        if age >= self.settle_seconds:
            return 0.0
        seen = self._seen.get(name)
        if seen and seen[0] == st:
            if time.monotonic() - seen[1] >= self.settle_seconds:
                return 0.0
        else:
            self._seen[name] = (st, time.monotonic())
        return min(self.settle_seconds - max(age, 0.0), self.settle_seconds) + 0.05

    def read(self, unit: Unit, *, text_columns: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        """Read the file in chunks (see :mod:`riskwatch.storage.files`).

        Raises:
            UnitChanged: the file changed since it was listed, or while it was read.
        """
        from riskwatch.storage.files import read_chunks

        path = self.path / unit.extra.get("path", unit.name)
        self._check_unchanged(path, unit)
        try:
            yield from read_chunks(
                path,
                text_columns=text_columns,
                chunk_rows=self.chunk_rows,
                label=unit.name,
                raw=True,
            )
        except FileNotFoundError:
            raise UnitChanged(f"{unit.name}: removed while being read") from None
        self._check_unchanged(path, unit)

    @staticmethod
    def _check_unchanged(path: Path, unit: Unit) -> None:
        try:
            now = _stamp_text(stamp_of(os.stat(path)))
        except OSError:
            now = "gone"
        if unit.extra.get("stamp") and now != unit.extra["stamp"]:
            raise UnitChanged(f"{unit.name}: changed while being read; it is read again later")

    def mark(self, db: Database, unit: Unit) -> None:
        """Cache the file's hash by its stamp so the next check need not re-hash it."""
        stamp = unit.extra.get("stamp")
        if unit.content_hash and stamp and unit.extra.get("trusted"):
            size, mtime, inode, ctime = (int(x) for x in stamp.split(":"))
            cache_file_hashes(
                db,
                self.name,
                [(unit.name, FileStamp(size, mtime, inode, ctime), unit.content_hash)],
            )


def _stamp_text(st: FileStamp) -> str:
    return f"{st.size}:{st.mtime_ns}:{st.inode}:{st.ctime_ns}"

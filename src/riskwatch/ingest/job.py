"""The ingestion job: find new units in every source, validate, deduplicate, commit a version.

The pure rules live in :mod:`riskwatch.ingest.rules`; this module only wires them to the
sources and the workspace. All units of one call are committed together with one
metadata transaction, so a kill at any moment leaves the previous version intact. A unit
that cannot be read is rejected alone (one line, recorded); the other units go on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from riskwatch.errors import DataError, printable
from riskwatch.ingest.sources import UnitChanged, contract_fingerprint
from riskwatch.ingest.sources import pending_units as _pending_units
from riskwatch.storage.metadata import now

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.config import Settings
    from riskwatch.context import RunContext
    from riskwatch.ingest.sources import Source, Unit
    from riskwatch.schema import DataSchema
    from riskwatch.storage.datasets import Part
    from riskwatch.storage.db import Database
    from riskwatch.storage.workspace import Workspace

log = logging.getLogger("riskwatch.ingest")


@dataclass
class UnitReport:
    """What happened to one unit (``read`` = ``accepted + quarantined + duplicate``).

    ``reread`` counts rows of a look-back window read again on purpose (most are duplicates),
    ``late`` rows found below the window (not read), ``null_watermark`` rows read with no
    watermark. ``status`` is ingested, rejected, or waiting (still changing; read later).
    """

    source: str
    unit: str
    status: str
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicate: int = 0
    reread: int = 0
    late: int = 0
    null_watermark: int = 0
    message: str = ""
    quarantine_path: str | None = None
    seconds: float = 0.0
    started_at: str = ""


@dataclass
class IngestReport:
    """The outcome of one ingestion call."""

    units: list[UnitReport] = field(default_factory=list)
    dataset_version: int | None = None
    previous_version: int | None = None
    rows_total: int = 0
    seconds: float = 0.0

    @property
    def accepted(self) -> int:
        """Rows added to the dataset."""
        return sum(u.accepted for u in self.units)

    @property
    def rejected(self) -> list[UnitReport]:
        """Units refused whole."""
        return [u for u in self.units if u.status == "rejected"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "accepted": self.accepted}


def pending_units(
    settings: Settings, db: Database, *, wait: bool = True, retry: bool = False
) -> list[Unit]:
    """Every unit waiting in every source (no pandas import); see
    :func:`riskwatch.ingest.sources.pending_units`."""
    return _pending_units(settings, db, wait=wait, retry=retry)


def ingest(
    ctx: RunContext, units: list[Unit] | None = None, *, retry: bool = False
) -> IngestReport:
    """Ingest every pending unit of every source; the caller holds the workspace lock.

    Args:
        ctx: the run context (its dataset is refreshed when a version is committed).
        units: the pending units, when the caller has just listed them (else listed here).
        retry: re-examine every rejected unit and re-read SQL tables whole (when listing here).
    """
    from riskwatch.ingest.sources import build_sources
    from riskwatch.storage.datasets import current_version, remove_orphans, seen_hashes

    settings, ws, db = ctx.settings, ctx.ws, ctx.db
    started = time.perf_counter()
    if units is None:
        units = pending_units(settings, db, retry=retry)
    ws.ensure()
    remove_orphans(ws, db)
    version = current_version(db)
    report = IngestReport(previous_version=version.version if version else None)
    state = _State(
        schema=version.schema if version else None,
        seen=[seen_hashes(ws, version)],
        parts=list(version.parts) if version else [],
        rows=version.rows if version else 0,
    )
    done: list[tuple[Source, Unit, UnitReport, list[str]]] = []
    for source in build_sources(settings):
        for unit in (u for u in units if u.source == source.name):
            if unit.settle_in > 0:
                report.units.append(_waiting(unit, "still being written"))
                continue
            if unit.refused:
                rep = UnitReport(source.name, unit.name, "rejected", message=unit.refused)
                rep.started_at, hashes = now(), list[str]()
            else:
                rep, hashes = _ingest_unit(ctx, source, unit, state)
            report.units.append(rep)
            if rep.status != "waiting":
                done.append((source, unit, rep, hashes))
    if done:
        _commit(db, done, state, report, version, contract_fingerprint(settings))
        ctx.dataset_changed()
    else:
        report.dataset_version = report.previous_version
    report.rows_total = state.rows
    report.seconds = time.perf_counter() - started
    return report


def _waiting(unit: Unit, why: str) -> UnitReport:
    return UnitReport(
        unit.source,
        unit.name,
        "waiting",
        message=f"{why}; it is read once unchanged for its settle time",
    )


@dataclass
class _State:
    schema: DataSchema | None
    seen: Any
    parts: list[Part]
    rows: int


def _ingest_unit(
    ctx: RunContext, source: Source, unit: Unit, state: _State
) -> tuple[UnitReport, list[str]]:
    """Read, validate, deduplicate and store one unit; on any data problem reject it alone."""
    t0 = time.perf_counter()
    rep = UnitReport(source=source.name, unit=unit.name, status="ingested", started_at=now())
    rep.late = int(unit.extra.get("late") or 0)
    reader = _UnitReader(ctx, source, state)
    try:
        reader.run(unit, rep)
    except UnitChanged:
        reader.discard()
        return _waiting(unit, "changed while being read"), []
    except (DataError, ValueError, TypeError, OverflowError) as exc:
        reader.discard()
        if isinstance(exc, DataError):
            message = str(exc).removeprefix(f"{unit.name}: ")  # the unit is named anyway
        else:  # a value the readers did not expect: reject the unit, keep the others going
            log.warning(
                "unit %s of source %s could not be read", unit.name, source.name, exc_info=True
            )
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            message = f"could not be read: {type(exc).__name__}: {printable(first, 120)}"
        rep = UnitReport(
            source.name, unit.name, "rejected", message=message, started_at=rep.started_at
        )
        rep.seconds = time.perf_counter() - t0
        return rep, []
    if reader.bad_frames:
        import pandas as pd

        frame = pd.concat(reader.bad_frames, ignore_index=True)
        rep.quarantine_path = _write_quarantine(ctx.ws, unit, frame)
    state.schema, state.seen = reader.schema, reader.seen
    state.parts += reader.parts
    state.rows += rep.accepted
    rep.seconds = time.perf_counter() - t0
    return rep, reader.bad_hashes


class _UnitReader:
    """The chunk loop of one unit: its new parts, quarantined rows and schema so far."""

    def __init__(self, ctx: RunContext, source: Source, state: _State) -> None:
        from riskwatch.storage.ingestions import quarantined_row_hashes

        self.ctx, self.source = ctx, source
        self.schema, self.seen = state.schema, state.seen
        self.parts: list[Part] = []
        self.bad_frames: list[pd.DataFrame] = []
        self.bad_hashes: list[str] = []
        self.known_bad = quarantined_row_hashes(ctx.db, source.name) if source.rereads else set()

    def run(self, unit: Unit, rep: UnitReport) -> None:
        import numpy as np

        from riskwatch.ingest.sources import REREAD_COLUMN
        from riskwatch.schema import HASH_COLUMN, REASON_COLUMN, ROW_COLUMN, resolve_schema
        from riskwatch.storage.datasets import write_part

        contract = self.ctx.settings.contract
        text_cols = tuple(c for c in (contract.id_column, *(contract.categorical or [])) if c)
        named = {contract.id_column, contract.target_column, contract.snapshot_column}
        named |= {contract.value_column, *(contract.features or [])}
        stored = set(self.schema.columns) if self.schema is not None else set()
        dropped = {c for c in contract.exclude if c not in stored}  # a stored column stays
        dropped |= {c for c in self.source.system_columns if c not in named}
        for read in self.source.read(unit, text_columns=text_cols):
            if REASON_COLUMN in read.columns:  # rows the reader set aside, with their reason
                rep.read += len(read)
                self._quarantine(read, rep)
                continue
            flags = read.pop(REREAD_COLUMN).to_numpy(dtype=bool) if REREAD_COLUMN in read else None
            for col in self.source.system_columns:
                if col in read.columns:
                    rep.null_watermark += int(read[col].isna().sum())
            chunk = read.drop(columns=[c for c in read.columns if c in dropped])
            if self.schema is None:
                self.schema = resolve_schema(contract, chunk.drop(columns=[ROW_COLUMN]))
            rep.read += len(chunk)
            new = self._chunk(chunk, flags, rep)
            if len(new):
                self.parts.append(write_part(self.ctx.ws, new))
                self.seen = [*self.seen, np.sort(new[HASH_COLUMN].to_numpy())]
                if len(self.seen) > 4:  # keep membership checks to a few binary searches
                    self.seen = [np.sort(np.concatenate(self.seen))]

    def _chunk(self, chunk: pd.DataFrame, flags: Any, rep: UnitReport) -> pd.DataFrame:
        """Validate, set aside and deduplicate one chunk; returns its new rows.

        Rows a source read again on purpose (``flags``) that are already stored or already
        quarantined are counted as re-read, not as read: ``read`` stays the rows of new data.
        """
        import numpy as np

        from riskwatch.ingest.rules import (
            conflict_mask,
            dedupe,
            in_sorted,
            row_hashes,
            split_conflicts,
            validate,
        )
        from riskwatch.schema import ROW_COLUMN

        assert self.schema is not None
        limit = self.ctx.settings.sources[self.source.name].max_field_chars
        valid, bad = validate(chunk, self.schema, max_chars=limit)
        if flags is None:
            flags = np.zeros(len(chunk), dtype=bool)
        kept = ~chunk[ROW_COLUMN].isin(bad[ROW_COLUMN].astype("int64")).to_numpy()
        self._quarantine(bad, rep, flags[~kept])
        flags = flags[kept]
        if flags.any():
            again = flags & in_sorted(row_hashes(valid, self.schema), self.seen)
            if again.any():  # read again on purpose and already stored
                rep.read -= int(again.sum())
                rep.reread += int(again.sum())
                valid, flags = valid.loc[~again].reset_index(drop=True), flags[~again]
        clash = conflict_mask(valid, self.schema) if flags.any() else None
        valid, clashes = split_conflicts(valid, self.schema)
        self._quarantine(clashes, rep, flags[clash] if clash is not None else None)
        new, dups = dedupe(valid, schema=self.schema, seen=self.seen)
        rep.accepted += len(new)
        rep.duplicate += dups
        return new

    def _quarantine(self, bad: pd.DataFrame, rep: UnitReport, flags: Any = None) -> None:
        """Set rows aside. A source that re-reads rows remembers them: one set aside before
        is re-read when ``flags`` says it was read again on purpose, else a duplicate."""
        import numpy as np

        if not len(bad):
            return
        if self.source.rereads:
            from riskwatch.ingest.rules import raw_row_hashes

            hashes = raw_row_hashes(bad)
            known = np.array([h in self.known_bad for h in hashes], dtype=bool)
            again = known & (flags if flags is not None else np.zeros(len(bad), dtype=bool))
            rep.read -= int(again.sum())
            rep.reread += int(again.sum())
            rep.duplicate += int((known & ~again).sum())
            new_hashes = [h for h, k in zip(hashes, known, strict=True) if not k]
            self.known_bad.update(new_hashes)
            self.bad_hashes += new_hashes
            bad = bad.loc[~known]
        if len(bad):
            rep.quarantined += len(bad)
            self.bad_frames.append(bad)

    def discard(self) -> None:
        """Delete the parts written for a unit that is not kept."""
        for part in self.parts:
            (self.ctx.ws.datasets / part.name).unlink(missing_ok=True)


def _write_quarantine(ws: Workspace, unit: Unit, frame: pd.DataFrame) -> str:
    import re

    from riskwatch.storage.workspace import atomic_write_text

    stamp = now().replace(":", "").replace("-", "")[:15]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{unit.source}-{unit.name}")[:120]
    path = ws.quarantine / f"{stamp}-{safe}.csv"
    atomic_write_text(path, frame.to_csv(index=False))
    return str(path.relative_to(ws.root))


def _commit(
    db: Database,
    done: list[tuple[Source, Unit, UnitReport, list[str]]],
    state: _State,
    report: IngestReport,
    previous: Any,
    contract: str,
) -> None:
    from riskwatch.storage.datasets import commit_version
    from riskwatch.storage.ingestions import record_ingestion, remember_quarantined

    changed = any(r.accepted for _, _, r, _ in done)
    with db.transaction():
        version = previous.version if previous else None
        if changed and state.schema is not None:
            version = commit_version(
                db, parts=tuple(state.parts), schema=state.schema, rows=state.rows
            )
        finished = now()
        for source, unit, rep, bad_hashes in done:
            record_ingestion(
                db,
                {
                    "source": rep.source,
                    "unit": rep.unit,
                    "content_hash": unit.content_hash,
                    "watermark_from": unit.watermark_from,
                    "watermark_to": unit.watermark_to,
                    "rows_read": rep.read,
                    "rows_accepted": rep.accepted,
                    "rows_quarantined": rep.quarantined,
                    "rows_duplicate": rep.duplicate,
                    "rows_reread": rep.reread,
                    "rows_late": rep.late,
                    "rows_null_watermark": rep.null_watermark,
                    "status": rep.status,
                    "message": rep.message,
                    "quarantine_path": rep.quarantine_path,
                    "dataset_version": version if rep.status == "ingested" else None,
                    "contract": contract,
                    "started_at": rep.started_at or finished,
                    "finished_at": finished,
                    "duration_s": rep.seconds,
                },
            )
            if rep.status == "ingested":
                remember_quarantined(db, source.name, bad_hashes)
            if rep.status == "ingested" or (unit.content_hash and not unit.refused):
                source.mark(db, unit)
    report.dataset_version = version


def summary(report: IngestReport) -> str:
    """A short human summary of an ingestion."""
    if not report.units:
        return "nothing new"
    lines = []
    for u in report.units:
        if u.status in ("rejected", "waiting"):
            lines.append(f"{u.status.upper()} {u.source}: {u.unit}: {u.message}")
            continue
        line = (
            f"{u.source}: {u.unit}: {u.read} read, {u.accepted} accepted, "
            f"{u.quarantined} quarantined, {u.duplicate} duplicate"
        )
        notes = []
        if u.reread:
            notes.append(f"{u.reread} already stored, read again")
        if u.null_watermark:
            notes.append(f"{u.null_watermark} with no watermark")
        if u.quarantine_path:
            notes.append(f"quarantine: {u.quarantine_path}")
        line += f" ({'; '.join(notes)})" if notes else ""
        if u.late:
            line += (
                f"; {u.late} row(s) arrived below the look-back window and were not read "
                "(`riskwatch ingest --retry` reads the whole table again)"
            )
        lines.append(line)
    if report.dataset_version != report.previous_version:
        lines.append(
            f"dataset version {report.dataset_version}: {report.rows_total} rows "
            f"({report.accepted} new) in {report.seconds:.2f}s"
        )
    else:
        lines.append(f"dataset unchanged ({report.rows_total} rows)")
    return "\n".join(lines)

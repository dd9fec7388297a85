"""The ingestion job: find new units in every source, validate, deduplicate, commit a version.

The pure rules live in :mod:`riskwatch.ingest.rules`; this module only wires them to the
sources and the workspace. All units of one call are committed together with one
metadata transaction, so a kill at any moment leaves the previous version intact.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from riskwatch.errors import DataError
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


@dataclass
class UnitReport:
    """What happened to one unit."""

    source: str
    unit: str
    status: str
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicate: int = 0
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


def pending_units(settings: Settings, db: Database) -> list[Unit]:
    """Every unit waiting in every source (no pandas import)."""
    from riskwatch.ingest.sources import build_sources

    return [u for src in build_sources(settings) for u in src.pending(db)]


def ingest(ctx: RunContext, units: list[Unit] | None = None) -> IngestReport:
    """Ingest every pending unit of every source; the caller holds the workspace lock.

    Args:
        ctx: the run context (its dataset is refreshed when a version is committed).
        units: the pending units, when the caller has just listed them (else listed here).
    """
    from riskwatch.ingest.sources import build_sources
    from riskwatch.storage.datasets import current_version, remove_orphans, seen_hashes

    settings, ws, db = ctx.settings, ctx.ws, ctx.db
    started = time.perf_counter()
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
    done: list[tuple[Source, Unit, UnitReport]] = []
    for source in build_sources(settings):
        todo = (
            source.pending(db) if units is None else [u for u in units if u.source == source.name]
        )
        for unit in todo:
            done.append((source, unit, _ingest_unit(settings, ws, source, unit, state)))
    report.units = [r for _, _, r in done]
    if done:
        _commit(db, done, state, report, version)
        ctx.dataset_changed()
    report.rows_total = state.rows
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _State:
    schema: DataSchema | None
    seen: Any
    parts: list[Part]
    rows: int


def _ingest_unit(
    settings: Settings, ws: Workspace, source: Source, unit: Unit, state: _State
) -> UnitReport:
    import numpy as np
    import pandas as pd

    from riskwatch.ingest.rules import dedupe, split_conflicts, validate
    from riskwatch.schema import HASH_COLUMN, ROW_COLUMN, resolve_schema
    from riskwatch.storage.datasets import write_part

    t0 = time.perf_counter()
    rep = UnitReport(source=source.name, unit=unit.name, status="ingested", started_at=now())
    contract = settings.contract
    text_cols = tuple(c for c in (contract.id_column, *(contract.categorical or [])) if c)
    schema, seen = state.schema, state.seen
    named = {contract.id_column, contract.target_column, contract.snapshot_column}
    named |= {contract.value_column, *(contract.features or [])}
    stored = set(schema.columns) if schema is not None else set()
    dropped = {c for c in contract.exclude if c not in stored}  # a stored column stays stored
    dropped |= {c for c in source.system_columns if c not in named}
    new_parts: list[Part] = []
    bad_frames: list[pd.DataFrame] = []
    try:
        for read in source.read(unit, text_columns=text_cols):
            chunk = read.drop(columns=[c for c in read.columns if c in dropped])
            if schema is None:
                schema = resolve_schema(contract, chunk.drop(columns=[ROW_COLUMN]))
            valid, bad = validate(chunk, schema)
            valid, clashes = split_conflicts(valid, schema)
            new, dups = dedupe(valid, schema=schema, seen=seen)
            rep.read += len(chunk)
            rep.accepted += len(new)
            rep.duplicate += dups
            rep.quarantined += len(bad) + len(clashes)
            bad_frames += [f for f in (bad, clashes) if len(f)]
            if len(new):
                new_parts.append(write_part(ws, new))
                seen = [*seen, np.sort(new[HASH_COLUMN].to_numpy())]
                if len(seen) > 4:  # keep membership checks to a few binary searches
                    seen = [np.sort(np.concatenate(seen))]
    except DataError as exc:
        for part in new_parts:
            (ws.datasets / part.name).unlink(missing_ok=True)
        rep = UnitReport(
            source=source.name,
            unit=unit.name,
            status="rejected",
            message=str(exc),
            started_at=rep.started_at,
        )
        rep.seconds = time.perf_counter() - t0
        return rep
    if bad_frames:
        rep.quarantine_path = _write_quarantine(ws, unit, pd.concat(bad_frames, ignore_index=True))
    state.schema, state.seen = schema, seen
    state.parts += new_parts
    state.rows += rep.accepted
    rep.seconds = time.perf_counter() - t0
    return rep


def _write_quarantine(ws: Workspace, unit: Unit, frame: pd.DataFrame) -> str:
    import re

    from riskwatch.storage.workspace import atomic_write_text

    stamp = now().replace(":", "").replace("-", "")[:15]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{unit.source}-{unit.name}")
    path = ws.quarantine / f"{stamp}-{safe}.csv"
    atomic_write_text(path, frame.to_csv(index=False))
    return str(path.relative_to(ws.root))


def _commit(
    db: Database,
    done: list[tuple[Source, Unit, UnitReport]],
    state: _State,
    report: IngestReport,
    previous: Any,
) -> None:
    from riskwatch.storage.datasets import commit_version
    from riskwatch.storage.ingestions import record_ingestion

    changed = any(r.accepted for _, _, r in done)
    with db.transaction():
        version = previous.version if previous else None
        if changed and state.schema is not None:
            version = commit_version(
                db, parts=tuple(state.parts), schema=state.schema, rows=state.rows
            )
        finished = now()
        for source, unit, rep in done:
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
                    "status": rep.status,
                    "message": rep.message,
                    "quarantine_path": rep.quarantine_path,
                    "dataset_version": version if rep.status == "ingested" else None,
                    "started_at": rep.started_at or finished,
                    "finished_at": finished,
                    "duration_s": rep.seconds,
                },
            )
            if rep.status == "ingested" or unit.content_hash:
                source.mark(db, unit)
    report.dataset_version = version


def summary(report: IngestReport) -> str:
    """A short human summary of an ingestion."""
    if not report.units:
        return "nothing new"
    lines = []
    for u in report.units:
        if u.status == "rejected":
            lines.append(f"REJECTED {u.source}: {u.unit}: {u.message}")
            continue
        line = (
            f"{u.source}: {u.unit}: {u.read} read, {u.accepted} accepted, "
            f"{u.quarantined} quarantined, {u.duplicate} duplicate"
        )
        if u.quarantine_path:
            line += f" (quarantine: {u.quarantine_path})"
        lines.append(line)
    if report.dataset_version != report.previous_version:
        lines.append(
            f"dataset version {report.dataset_version}: {report.rows_total} rows "
            f"({report.accepted} new) in {report.seconds:.2f}s"
        )
    else:
        lines.append(f"dataset unchanged ({report.rows_total} rows)")
    return "\n".join(lines)

"""The ingestion job: find new units in every source, validate, deduplicate, commit a version.

The pure rules live in :mod:`riskwatch.ingest.rules`; this module only wires them to the
sources and the workspace. All units of one call are committed together with one
metadata transaction, so a kill at any moment leaves the previous version intact. A unit
that cannot be read is rejected alone (one line, recorded); the other units go on.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from riskwatch.ingest.sources import contract_fingerprint
from riskwatch.ingest.sources import pending_units as _pending_units
from riskwatch.ingest.unit import IngestState, UnitReport, ingest_unit, waiting
from riskwatch.storage.metadata import now

if TYPE_CHECKING:
    from riskwatch.config import Settings
    from riskwatch.context import RunContext
    from riskwatch.ingest.sources import Source, Unit
    from riskwatch.storage.db import Database

__all__ = ["IngestReport", "UnitReport", "ingest", "pending_units", "summary"]


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
    state = IngestState(
        schema=version.schema if version else None,
        seen=[seen_hashes(ws, version)],
        parts=list(version.parts) if version else [],
        rows=version.rows if version else 0,
    )
    done: list[tuple[Source, Unit, UnitReport, list[str]]] = []
    for source in build_sources(settings):
        mine = [u for u in units if u.source == source.name]
        elsewhere = _on_cluster(ctx, source, mine, state)
        for unit in mine:
            if unit.settle_in > 0:
                report.units.append(waiting(unit, "still being written"))
                continue
            if unit.refused:
                rep = UnitReport(source.name, unit.name, "rejected", message=unit.refused)
                rep.started_at, hashes = now(), list[str]()
            elif unit.name in elsewhere:
                rep, hashes = elsewhere[unit.name]
            else:
                rep, hashes = ingest_unit(ctx, source, unit, state)
            report.units.append(rep)
            if rep.status != "waiting":
                done.append((source, unit, rep, hashes))
    if done:
        _commit(db, done, state, report, version, contract_fingerprint(settings))
        ctx.dataset_changed()
        if settings.engine.kind == "dask":  # parts of attempts a lost worker left behind
            remove_orphans(ws, db)
    else:
        report.dataset_version = report.previous_version
    report.rows_total = state.rows
    report.seconds = time.perf_counter() - started
    return report


def _on_cluster(
    ctx: RunContext, source: Source, units: list[Unit], state: IngestState
) -> dict[str, tuple[UnitReport, list[str]]]:
    """With ``[engine] kind = "dask"``, the files of a folder source read on the cluster and
    added in order (by name); {} otherwise. Files are read here until one fixes the schema."""
    from riskwatch.ingest.unit import merge_outcome

    if ctx.settings.engine.kind != "dask" or source.rereads:  # SQL units stay in one process
        return {}
    todo = [u for u in units if u.settle_in <= 0 and not u.refused]
    out: dict[str, tuple[UnitReport, list[str]]] = {}
    while todo and state.schema is None:  # the first file read fixes the schema, as locally
        unit = todo.pop(0)
        out[unit.name] = ingest_unit(ctx, source, unit, state)
    if not todo or state.schema is None:
        return out
    from riskwatch.engine.ingest import read_files

    outcomes = read_files(ctx.settings, ctx.ws, source, todo, state.schema)
    for unit, outcome in zip(todo, outcomes, strict=True):
        out[unit.name] = merge_outcome(ctx.ws, state, outcome)
    return out


def _commit(
    db: Database,
    done: list[tuple[Source, Unit, UnitReport, list[str]]],
    state: IngestState,
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

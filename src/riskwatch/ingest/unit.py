"""Ingesting one unit: read its chunks, validate, set rows aside, deduplicate, write parts.

A unit that cannot be read (a DataError, or a value the readers did not expect) is rejected
alone and its parts removed; one that changed while it was read is left for later.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riskwatch.errors import DataError, printable
from riskwatch.ingest.sources import UnitChanged
from riskwatch.storage.metadata import now

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.config import Settings
    from riskwatch.context import RunContext
    from riskwatch.ingest.sources import Source, Unit
    from riskwatch.schema import DataSchema
    from riskwatch.storage.datasets import Part
    from riskwatch.storage.workspace import Workspace

log = logging.getLogger("riskwatch.ingest")


@dataclass
class UnitReport:
    """What happened to one unit (``read`` = ``accepted + quarantined + duplicate``).

    ``reread`` counts rows read again on purpose (a look-back window) that were already stored
    or set aside, and are not counted in ``read``; ``late`` rows found below the window (not
    read); ``null_watermark`` rows read with no watermark. ``status`` is ingested, rejected, or
    waiting (still changing; read later).
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


def waiting(unit: Unit, why: str) -> UnitReport:
    """The report of a unit left for later (still changing)."""
    return UnitReport(
        unit.source,
        unit.name,
        "waiting",
        message=f"{why}; it is read once unchanged for its settle time",
    )


@dataclass
class IngestState:
    """What the units of one ingestion share: the schema, stored row hashes, parts, rows."""

    schema: DataSchema | None
    seen: Any
    parts: list[Part]
    rows: int


@dataclass
class UnitOutcome:
    """What reading one unit produced (picklable: a cluster worker returns it)."""

    report: UnitReport
    parts: list[Part] = field(default_factory=list)
    bad_hashes: list[str] = field(default_factory=list)
    schema: DataSchema | None = None
    seen: Any = None  # the stored hashes plus this unit's, when read with them


def ingest_unit(
    ctx: RunContext, source: Source, unit: Unit, state: IngestState
) -> tuple[UnitReport, list[str]]:
    """Read, validate, deduplicate and store one unit; on any data problem reject it alone."""
    from riskwatch.storage.ingestions import quarantined_row_hashes

    known_bad = quarantined_row_hashes(ctx.db, source.name) if source.rereads else set()
    out = read_unit(ctx.settings, ctx.ws, source, unit, state.schema, state.seen, known_bad)
    if out.report.status == "ingested":
        state.schema, state.seen = out.schema, out.seen
        state.parts += out.parts
        state.rows += out.report.accepted
    return out.report, out.bad_hashes


def merge_outcome(
    ws: Workspace, state: IngestState, out: UnitOutcome
) -> tuple[UnitReport, list[str]]:
    """Add a unit read elsewhere (``seen`` empty: a cluster worker) to the ingestion, in unit
    order: its rows already stored or in an earlier unit become duplicates, as in one process.

    Only a part that holds such rows is rewritten; the common case reads no part.
    """
    from riskwatch.ingest.rules import in_sorted, with_sorted
    from riskwatch.storage.datasets import part_hashes, rewrite_part

    rep = out.report
    if rep.status != "ingested":
        return rep, out.bad_hashes
    mine = list(out.seen or [])
    parts = out.parts
    if any(in_sorted(h, state.seen).any() for h in mine):
        parts = []
        for part in out.parts:
            again = in_sorted(part_hashes(ws, part), state.seen)
            if not again.any():
                parts.append(part)
                continue
            rep.accepted -= int(again.sum())
            rep.duplicate += int(again.sum())
            kept = rewrite_part(ws, part, ~again)
            parts += [kept] if kept is not None else []
    state.seen = with_sorted(state.seen, *mine)
    state.parts += parts
    state.rows += rep.accepted
    return rep, out.bad_hashes


def read_unit(
    settings: Settings,
    ws: Workspace,
    source: Source,
    unit: Unit,
    schema: DataSchema | None,
    seen: Any,
    known_bad: set[str],
) -> UnitOutcome:
    """Read, validate, deduplicate (against ``seen``) and write the parts and quarantine file of
    one unit; a unit with a data problem is rejected alone (its parts removed).

    Pure of the metadata database, so a cluster worker can run it (``seen`` then empty).
    """
    t0 = time.perf_counter()
    rep = UnitReport(source=source.name, unit=unit.name, status="ingested", started_at=now())
    rep.late = int(unit.extra.get("late") or 0)
    reader = _UnitReader(settings, ws, source, schema, seen, known_bad)
    try:
        reader.run(unit, rep)
    except UnitChanged:
        reader.discard()
        return UnitOutcome(waiting(unit, "changed while being read"))
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
        return UnitOutcome(rep)
    if reader.bad_frames:
        import pandas as pd

        frame = pd.concat(reader.bad_frames, ignore_index=True)
        rep.quarantine_path = _write_quarantine(ws, unit, frame)
    rep.seconds = time.perf_counter() - t0
    return UnitOutcome(rep, reader.parts, reader.bad_hashes, reader.schema, reader.seen)


class _UnitReader:
    """The chunk loop of one unit: its new parts, quarantined rows and schema so far."""

    def __init__(
        self,
        settings: Settings,
        ws: Workspace,
        source: Source,
        schema: DataSchema | None,
        seen: Any,
        known_bad: set[str],
    ) -> None:
        self.settings, self.ws, self.source = settings, ws, source
        self.schema, self.seen = schema, seen
        self.parts: list[Part] = []
        self.bad_frames: list[pd.DataFrame] = []
        self.bad_hashes: list[str] = []
        self.known_bad = known_bad

    def run(self, unit: Unit, rep: UnitReport) -> None:
        import numpy as np

        from riskwatch.ingest.rules import with_sorted
        from riskwatch.ingest.sources import REREAD_COLUMN
        from riskwatch.schema import HASH_COLUMN, REASON_COLUMN, ROW_COLUMN, resolve_schema
        from riskwatch.storage.datasets import write_part

        contract = self.settings.contract
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
                self.parts.append(write_part(self.ws, new))
                self.seen = with_sorted(self.seen, np.sort(new[HASH_COLUMN].to_numpy()))

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
        limit = self.settings.sources[self.source.name].max_field_chars
        valid, bad = validate(chunk, self.schema, max_chars=limit)
        if flags is None or not flags.any():  # the common case: nothing read again
            self._quarantine(bad, rep)
            flags = np.zeros(len(valid), dtype=bool)
        else:
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
            (self.ws.datasets / part.name).unlink(missing_ok=True)


def _write_quarantine(ws: Workspace, unit: Unit, frame: pd.DataFrame) -> str:
    import re

    from riskwatch.storage.workspace import atomic_write_text

    stamp = now().replace(":", "").replace("-", "")[:15]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{unit.source}-{unit.name}")[:120]
    path = ws.quarantine / f"{stamp}-{safe}.csv"
    atomic_write_text(path, frame.to_csv(index=False))
    return str(path.relative_to(ws.root))

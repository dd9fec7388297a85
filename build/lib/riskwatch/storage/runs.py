"""Run history and pipeline markers in the metadata database (light: no heavy imports).

A run is a row in ``runs``; each of its steps a row in ``run_steps`` (and a timing in
``step_timings`` for diagnostics). Markers in ``rw_meta`` say how far the pipeline has
processed the dataset, so a killed run is finished by the next one.
"""

from __future__ import annotations

import json
import os
from typing import Any

from riskwatch.storage.db import Database
from riskwatch.storage.metadata import now

PROCESSED = "processed_version"  # dataset version whose drift/retrain decision is made
REPORTED = "reported_version"  # dataset version a report has been written for


def get_marker(db: Database, key: str) -> int | None:
    """An integer marker from ``rw_meta`` (None when unset)."""
    value = db.scalar("SELECT value FROM rw_meta WHERE key = :k", {"k": key})
    return None if value is None else int(value)


def set_marker(db: Database, key: str, value: int) -> None:
    """Set an integer marker (one transaction)."""
    with db.transaction():
        db.execute("DELETE FROM rw_meta WHERE key = :k", {"k": key})
        db.execute("INSERT INTO rw_meta (key, value) VALUES (:k, :v)", {"k": key, "v": str(value)})


def start_run(db: Database, trigger: str) -> int:
    """Record a new run as running; returns its id. Earlier 'running' rows are marked killed.

    Call while holding the workspace lock: then no other run can be alive, so any row still
    marked running belongs to a run that was killed.
    """
    with db.transaction():
        db.execute(
            "UPDATE runs SET status = 'killed', finished_at = :t, "
            "message = 'the process stopped before finishing; the next run completed its work' "
            "WHERE status = 'running'",
            {"t": now()},
        )
        db.execute(
            "INSERT INTO runs (started_at, trigger, status, pid) VALUES (:t, :g, 'running', :p)",
            {"t": now(), "g": trigger, "p": os.getpid()},
        )
        return int(db.scalar("SELECT MAX(id) FROM runs"))


def record_step(
    db: Database,
    run_id: int | None,
    step: str,
    started_at: str,
    seconds: float,
    decision: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record one finished step of a run and its timing."""
    text = json.dumps(detail or {}, default=str)
    with db.transaction():
        if run_id is not None:
            db.execute(
                "INSERT INTO run_steps (run_id, step, started_at, duration_s, decision, detail) "
                "VALUES (:r, :s, :t, :d, :c, :x)",
                {"r": run_id, "s": step, "t": started_at, "d": seconds, "c": decision, "x": text},
            )
        db.execute(
            "INSERT INTO step_timings (run_id, step, started_at, duration_s, detail) "
            "VALUES (:r, :s, :t, :d, :x)",
            {"r": run_id, "s": step, "t": started_at, "d": seconds, "x": decision},
        )


def finish_run(
    db: Database, run_id: int, status: str, outcome: str, *, message: str = "", detail: Any = None
) -> None:
    """Close a run with its status (ok, nothing_new, failed) and a one-line outcome."""
    db.execute(
        "UPDATE runs SET status = :s, outcome = :o, message = :m, finished_at = :t, detail = :d "
        "WHERE id = :i",
        {
            "s": status,
            "o": outcome,
            "m": message,
            "t": now(),
            "d": json.dumps(detail, default=str) if detail is not None else None,
            "i": run_id,
        },
    )


def list_runs(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    """The latest runs, newest first, each with its steps."""
    rows = db.execute(
        "SELECT id, started_at, finished_at, trigger, status, outcome, message FROM runs "
        "ORDER BY id DESC LIMIT :n",
        {"n": limit},
    )
    runs = []
    for r in rows:
        steps = db.execute(
            "SELECT step, duration_s, decision FROM run_steps WHERE run_id = :i ORDER BY id",
            {"i": r[0]},
        )
        runs.append(
            {
                "id": r[0],
                "started_at": r[1],
                "finished_at": r[2],
                "trigger": r[3],
                "status": r[4],
                "outcome": r[5],
                "message": r[6],
                "steps": [{"step": s[0], "seconds": s[1], "decision": s[2]} for s in steps],
            }
        )
    return runs


def last_run(db: Database) -> dict[str, Any] | None:
    """The newest run (with steps), or None."""
    runs = list_runs(db, 1)
    return runs[0] if runs else None


def last_successful_run(db: Database) -> dict[str, Any] | None:
    """The newest run that finished well (``ok`` or ``nothing_new``), without its steps."""
    rows = db.execute(
        "SELECT id, started_at, finished_at, status, outcome FROM runs "
        "WHERE status IN ('ok', 'nothing_new') ORDER BY id DESC LIMIT 1"
    )
    if not rows:
        return None
    r = rows[0]
    return {"id": r[0], "started_at": r[1], "finished_at": r[2], "status": r[3], "outcome": r[4]}

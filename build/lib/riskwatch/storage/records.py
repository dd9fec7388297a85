"""Monitoring records in the metadata database: drift checks, call lists and diagnostics.

Results are stored as JSON text so the API, the dashboard and the report answer instantly.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from riskwatch.storage.metadata import now

if TYPE_CHECKING:
    from riskwatch.storage.db import Database


def record_drift_check(db: Database, check: dict[str, Any], *, run_id: int | None) -> int:
    """Store one drift check (its ``to_dict()`` form); returns its id."""
    with db.transaction():
        db.execute(
            "INSERT INTO drift_checks (run_id, batch, model_version, verdict, retrain, reasons, "
            "result, checked_at) VALUES (:r, :b, :m, :v, :t, :x, :j, :at)",
            {
                "r": run_id,
                "b": check["batch"],
                "m": check["model_version"],
                "v": check["verdict"],
                "t": int(bool(check["retrain_recommended"])),
                "x": json.dumps(check["reasons"]),
                "j": json.dumps(check, default=str),
                "at": now(),
            },
        )
        return int(db.scalar("SELECT MAX(id) FROM drift_checks"))


def drift_checks(db: Database, limit: int = 10) -> list[dict[str, Any]]:
    """The latest drift checks (summary fields), newest first."""
    rows = db.execute(
        "SELECT id, batch, model_version, verdict, reasons, checked_at, run_id FROM drift_checks "
        "ORDER BY id DESC LIMIT :n",
        {"n": limit},
    )
    return [
        {
            "id": r[0],
            "batch": r[1],
            "model_version": r[2],
            "verdict": r[3],
            "reasons": json.loads(r[4]),
            "checked_at": r[5],
            "run_id": r[6],
        }
        for r in rows
    ]


def drift_check_result(db: Database, check_id: int | None = None) -> dict[str, Any] | None:
    """The full stored result of one check (default: the newest)."""
    if check_id is None:
        text = db.scalar("SELECT result FROM drift_checks ORDER BY id DESC LIMIT 1")
    else:
        text = db.scalar("SELECT result FROM drift_checks WHERE id = :i", {"i": check_id})
    return None if text is None else dict(json.loads(text))


def performance_history(db: Database, version: int, metric: str) -> list[float]:
    """A model's ``metric`` on every batch it was checked on, oldest first."""
    values = []
    for (text,) in db.execute(
        "SELECT result FROM drift_checks WHERE model_version = :v ORDER BY id", {"v": version}
    ):
        perf = json.loads(text).get("performance") or {}
        if perf.get("metric") == metric and isinstance(perf.get("value"), int | float):
            values.append(float(perf["value"]))
    return values


def record_call_list(
    db: Database, *, model_version: int, dataset_version: int | None, top_ids: list[str]
) -> None:
    """Store the top of a call list (to measure turnover between lists)."""
    db.execute(
        "INSERT INTO call_lists (model_version, dataset_version, created_at, top_ids) "
        "VALUES (:m, :d, :t, :i)",
        {"m": model_version, "d": dataset_version, "t": now(), "i": json.dumps(top_ids)},
    )


def latest_call_list(db: Database) -> dict[str, Any] | None:
    """The newest stored call list top."""
    rows = db.execute(
        "SELECT model_version, dataset_version, created_at, top_ids FROM call_lists "
        "ORDER BY id DESC LIMIT 1"
    )
    if not rows:
        return None
    m, d, t, ids = rows[0]
    return {"model_version": m, "dataset_version": d, "created_at": t, "top_ids": json.loads(ids)}


def record_diagnostics(
    db: Database, results: dict[str, Any], *, dataset_version: int | None
) -> None:
    """Store each kind of diagnostic result (one transaction)."""
    with db.transaction():
        for kind, payload in results.items():
            db.execute(
                "INSERT INTO diagnostics (kind, dataset_version, created_at, payload) "
                "VALUES (:k, :v, :t, :p)",
                {
                    "k": kind,
                    "v": dataset_version,
                    "t": now(),
                    "p": json.dumps(payload, default=str),
                },
            )


def latest_diagnostics(db: Database, kind: str) -> dict[str, Any] | None:
    """The newest stored diagnostic of a kind (summary, missing, timings, dependencies)."""
    rows = db.execute(
        "SELECT payload, created_at, dataset_version FROM diagnostics WHERE kind = :k "
        "ORDER BY id DESC LIMIT 1",
        {"k": kind},
    )
    if not rows:
        return None
    return {
        "kind": kind,
        "created_at": rows[0][1],
        "dataset_version": rows[0][2],
        "data": json.loads(rows[0][0]),
    }


def step_timings(db: Database, history: int = 20) -> dict[str, list[tuple[str, float]]]:
    """Step -> its latest ``history`` (started_at, seconds), newest first."""
    out: dict[str, list[tuple[str, float]]] = {}
    for (step,) in db.execute("SELECT DISTINCT step FROM step_timings ORDER BY step"):
        rows = db.execute(
            "SELECT started_at, duration_s FROM step_timings WHERE step = :s "
            "ORDER BY id DESC LIMIT :n",
            {"s": step, "n": history},
        )
        out[step] = [(r[0], float(r[1])) for r in rows]
    return out


def latest_check_of(db: Database, version: int) -> dict[str, Any] | None:
    """The newest drift check of one model (summary fields)."""
    rows = db.execute(
        "SELECT id, batch, verdict, reasons, checked_at FROM drift_checks "
        "WHERE model_version = :v ORDER BY id DESC LIMIT 1",
        {"v": version},
    )
    if not rows:
        return None
    r = rows[0]
    return {
        "id": r[0],
        "batch": r[1],
        "model_version": version,
        "verdict": r[2],
        "reasons": json.loads(r[3]),
        "checked_at": r[4],
    }

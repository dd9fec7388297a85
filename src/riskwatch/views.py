"""JSON-ready answers shared by the API, the report and the pipeline's ``apireturns`` output.

Everything here reads stored results; nothing retrains, rescores or writes files.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from riskwatch.storage.runs import last_run

if TYPE_CHECKING:
    from riskwatch.config import Settings
    from riskwatch.storage.db import Database
    from riskwatch.storage.workspace import Workspace


def scoring(settings: Settings, db: Database) -> dict[str, Any]:
    """The champion's latest stored metrics on its evaluation set (F1 and the rest)."""
    from riskwatch.registry import champion_version, latest_metrics

    version = champion_version(db)
    if version is None:
        return {"model_version": None, "metrics": None, "note": "no champion yet"}
    return {
        "model_version": version,
        "primary_metric": settings.scoring.primary_metric,
        "metrics": latest_metrics(db, version),
    }


def summarystats(db: Database) -> dict[str, Any]:
    """Stored summary statistics and missing data of the current dataset."""
    from riskwatch.diagnostics import latest_diagnostics

    return {
        "summary": latest_diagnostics(db, "summary"),
        "missing": latest_diagnostics(db, "missing"),
    }


def diagnostics(db: Database) -> dict[str, Any]:
    """Stored timings and dependency status, and the last run."""
    from riskwatch.diagnostics import latest_diagnostics

    return {
        "timings": latest_diagnostics(db, "timings"),
        "dependencies": latest_diagnostics(db, "dependencies"),
        "last_run": last_run(db),
    }


def models(db: Database) -> dict[str, Any]:
    """Model versions with aliases and key metrics, and the alias history."""
    from riskwatch.registry import alias_history, list_models

    return {"models": list_models(db), "alias_history": alias_history(db)[-20:]}


def drift(db: Database, limit: int = 10) -> dict[str, Any]:
    """The latest drift checks (verdict, reasons, per-feature results of the newest)."""
    rows = db.execute(
        "SELECT id, batch, model_version, verdict, reasons, checked_at, result FROM drift_checks "
        "ORDER BY id DESC LIMIT :n",
        {"n": limit},
    )
    checks = [
        {
            "id": r[0],
            "batch": r[1],
            "model_version": r[2],
            "verdict": r[3],
            "reasons": json.loads(r[4]),
            "checked_at": r[5],
        }
        for r in rows
    ]
    latest = json.loads(rows[0][6]) if rows else None
    return {"latest": latest, "checks": checks}


def risk(settings: Settings, ws: Workspace, db: Database, top: int = 20) -> dict[str, Any]:
    """The ranked call list of current clients (computed from the champion and current dataset)."""
    from riskwatch.calllist import call_list

    frame, version, dataset = call_list(settings, ws, db)
    if frame is None:
        return {"model_version": None, "clients": [], "note": "no champion or no data yet"}
    head = frame.head(top)
    clients = []
    for row in head.to_dict(orient="records"):
        row["factors"] = json.loads(row.get("factors") or "[]")
        clients.append(
            {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        )
    return {
        "model_version": version,
        "dataset_version": dataset,
        "total": len(frame),
        "clients": clients,
    }


def snapshot(settings: Settings, ws: Workspace, db: Database) -> dict[str, Any]:
    """All answers at once (the course's ``apireturns``)."""
    return {
        "scoring": scoring(settings, db),
        "summarystats": summarystats(db),
        "diagnostics": diagnostics(db),
        "models": models(db),
        "drift": drift(db, 3),
        "risk": risk(settings, ws, db, settings.scoring.top_k_count),
    }

"""Model versions on disk and in the metadata database: artifacts, metrics, aliases, deployments.

Light to import (no numpy, pandas or joblib at module level): ``champion_version`` is on the cron
fast path. An artifact is written completely (temp file + rename) and its sha256 recorded before
any alias can point at it; :func:`load_artifact` verifies the checksum before unpickling, so a
tampered or truncated file is refused and never loaded.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskwatch.errors import ModelError, NotFound
from riskwatch.storage.metadata import now
from riskwatch.storage.workspace import atomic_path, atomic_write_text

if TYPE_CHECKING:
    import numpy as np

    from riskwatch.storage.db import Database
    from riskwatch.storage.workspace import Workspace

ARTIFACT = "model.joblib"
HOLDOUT = "holdout.npy"
ALIASES = ("champion", "challenger", "previous")
_ROW_KEYS = (
    "version",
    "created_at",
    "dataset_version",
    "dataset_fingerprint",
    "kind",
    "artifact",
    "sha256",
    "card",
    "eval_set",
)


def alias_version(db: Database, alias: str) -> int | None:
    """The version an alias points at, or None."""
    value = db.scalar("SELECT version FROM aliases WHERE alias = :a", {"a": alias})
    return None if value is None else int(value)


def champion_version(db: Database) -> int | None:
    """The production model's version (one query; imports nothing heavy)."""
    return alias_version(db, "champion")


def newest_version(db: Database) -> int | None:
    """The highest registered version, or None."""
    top = db.scalar("SELECT MAX(version) FROM models")
    return None if top is None else int(top)


def model_dir(ws: Workspace, version: int) -> Path:
    """The folder of one version's artifact and card."""
    return ws.models / f"v{version}"


def model_row(db: Database, version: int) -> dict[str, Any]:
    """The registry row of a version, card parsed.

    Raises:
        NotFound: there is no such version.
    """
    rows = db.execute(
        f"SELECT {', '.join(_ROW_KEYS)} FROM models WHERE version = :v", {"v": version}
    )
    if not rows:
        raise NotFound(f"model version {version} does not exist (see `riskwatch models`)")
    row = dict(zip(_ROW_KEYS, rows[0], strict=True))
    row["card"] = json.loads(row["card"])
    return row


def register(
    ws: Workspace,
    db: Database,
    payload: dict[str, Any],
    card: dict[str, Any],
    *,
    card_markdown: Callable[[dict[str, Any]], str],
    extra_files: dict[str, bytes] | None = None,
) -> int:
    """Write the artifact and card, then allocate the version and record it in one transaction.

    Call while holding the workspace lock (staging folders of killed runs are removed here).
    Returns the new version number.
    """
    import joblib

    ws.models.mkdir(parents=True, exist_ok=True)
    for stale in ws.models.glob(".staging-*"):  # left by a killed run; the caller holds the lock
        shutil.rmtree(stale, ignore_errors=True)
    staging = ws.models / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        with atomic_path(staging / ARTIFACT) as tmp:
            joblib.dump(payload, tmp, compress=3)
        digest = hashlib.sha256((staging / ARTIFACT).read_bytes()).hexdigest()
        for name, data in (extra_files or {}).items():
            (staging / name).write_bytes(data)
        with db.transaction():
            version = (newest_version(db) or 0) + 1
            card = {**card, "version": version, "sha256": digest}
            atomic_write_text(staging / "card.json", json.dumps(card, indent=2, default=str))
            atomic_write_text(staging / "card.md", card_markdown(card))
            target = model_dir(ws, version)
            if target.exists():  # left by a run killed between rename and commit
                shutil.rmtree(target)
            db.execute(
                "INSERT INTO models (version, created_at, dataset_version, dataset_fingerprint, "
                "kind, artifact, sha256, card, eval_set) "
                "VALUES (:v, :t, :d, :f, :k, :a, :s, :c, :e)",
                {
                    "v": version,
                    "t": now(),
                    "d": card.get("dataset_version"),
                    "f": card.get("dataset_fingerprint"),
                    "k": card["kind"],
                    "a": f"models/v{version}/{ARTIFACT}",
                    "s": digest,
                    "c": json.dumps(card, default=str),
                    "e": card["eval_set"],
                },
            )
            staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return version


def load_artifact(ws: Workspace, db: Database, version: int) -> tuple[dict[str, Any], Any]:
    """The registry row and the unpickled payload of a version, after verifying its sha256.

    Raises:
        NotFound: there is no such version.
        ModelError: the artifact is missing, altered or unreadable.
    """
    import joblib

    row = model_row(db, version)
    path = ws.root / row["artifact"]
    try:
        data = path.read_bytes()
    except OSError:
        raise ModelError(f"{path}: artifact of model v{version} is missing") from None
    if hashlib.sha256(data).hexdigest() != row["sha256"]:
        raise ModelError(
            f"{path}: artifact of model v{version} does not match its recorded sha256 "
            "(altered or corrupt); refusing to load it"
        )
    try:
        payload = joblib.load(path)
    except Exception as exc:
        raise ModelError(
            f"{path}: artifact of model v{version} cannot be read ({type(exc).__name__})"
        ) from None
    return row, payload


def holdout_keys(ws: Workspace, version: int) -> np.ndarray | None:
    """The row keys of a version's recorded hold-out, or None when it has none."""
    import numpy as np

    path = model_dir(ws, version) / HOLDOUT
    return np.load(path) if path.is_file() else None


def store_metrics(
    db: Database, version: int, eval_set: str, fingerprint: str | None, metrics: dict[str, Any]
) -> None:
    """Record a model's metrics on an evaluation set."""
    db.execute(
        "INSERT INTO model_metrics (model_version, eval_set, eval_fingerprint, rows, metrics, "
        "computed_at) VALUES (:v, :e, :f, :n, :m, :t)",
        {
            "v": version,
            "e": eval_set,
            "f": fingerprint,
            "n": int(metrics.get("rows", 0)),
            "m": json.dumps(metrics, default=str),
            "t": now(),
        },
    )


def latest_metrics(
    db: Database, version: int, eval_set: str | None = None
) -> dict[str, Any] | None:
    """The newest stored metrics of a version on ``eval_set`` (default: its own evaluation set).

    The answer names its evaluation set (``eval_set``) and when it was computed.
    """
    if eval_set is None:
        eval_set = db.scalar("SELECT eval_set FROM models WHERE version = :v", {"v": version})
    rows = db.execute(
        "SELECT metrics, eval_set, computed_at FROM model_metrics WHERE model_version = :v "
        "AND eval_set = :e ORDER BY id DESC LIMIT 1",
        {"v": version, "e": eval_set},
    )
    if not rows:
        return None
    return {**json.loads(rows[0][0]), "eval_set": rows[0][1], "computed_at": rows[0][2]}


def aliases_by_version(db: Database) -> dict[int, list[str]]:
    """Version -> the aliases pointing at it."""
    out: dict[int, list[str]] = {}
    for alias, version in db.execute("SELECT alias, version FROM aliases"):
        out.setdefault(int(version), []).append(alias)
    return {v: sorted(a) for v, a in out.items()}


def model_rows(db: Database) -> list[dict[str, Any]]:
    """Every registered version, newest first (card parsed)."""
    rows = db.execute(f"SELECT {', '.join(_ROW_KEYS)} FROM models ORDER BY version DESC")
    out = []
    for r in rows:
        row = dict(zip(_ROW_KEYS, r, strict=True))
        row["card"] = json.loads(row["card"])
        out.append(row)
    return out


def set_alias(db: Database, alias: str, version: int | None, *, actor: str, reason: str) -> None:
    """Point ``alias`` at ``version`` (None removes it) and record the move (in the caller's
    transaction)."""
    old = alias_version(db, alias)
    db.execute("DELETE FROM aliases WHERE alias = :a", {"a": alias})
    if version is not None:
        db.execute(
            "INSERT INTO aliases (alias, version, updated_at) VALUES (:a, :v, :t)",
            {"a": alias, "v": version, "t": now()},
        )
    db.execute(
        "INSERT INTO alias_history (alias, version, previous, actor, reason, at) "
        "VALUES (:a, :v, :p, :u, :r, :t)",
        {"a": alias, "v": version, "p": old, "u": actor, "r": reason, "t": now()},
    )


def alias_since(db: Database, alias: str) -> str | None:
    """When ``alias`` last moved."""
    value = db.scalar("SELECT updated_at FROM aliases WHERE alias = :a", {"a": alias})
    return None if value is None else str(value)


def record_deployment(db: Database, decision: dict[str, Any], *, actor: str) -> None:
    """Store one gate decision (in the caller's transaction)."""
    db.execute(
        "INSERT INTO deployments (candidate, champion, metric, candidate_score, champion_score, "
        "eval_set, decision, reason, forced, actor, at) "
        "VALUES (:c, :h, :m, :cs, :hs, :e, :d, :r, :f, :a, :t)",
        {
            "c": decision["candidate"],
            "h": decision["champion"],
            "m": decision["metric"],
            "cs": decision["candidate_score"],
            "hs": decision["champion_score"],
            "e": decision["eval_set"],
            "d": "promoted" if decision["promoted"] else "rejected",
            "r": decision["reason"],
            "f": int(decision.get("forced", False)),
            "a": actor,
            "t": now(),
        },
    )


def deployments(db: Database, limit: int = 50) -> list[dict[str, Any]]:
    """The latest gate decisions, newest first."""
    keys = (
        "candidate",
        "champion",
        "metric",
        "candidate_score",
        "champion_score",
        "eval_set",
        "decision",
        "reason",
        "forced",
        "actor",
        "at",
    )
    rows = db.execute(
        f"SELECT {', '.join(keys)} FROM deployments ORDER BY id DESC LIMIT :n", {"n": limit}
    )
    return [dict(zip(keys, r, strict=True)) for r in rows]


def alias_history(db: Database, alias: str | None = None) -> list[dict[str, Any]]:
    """Every alias move, oldest first."""
    rows = db.execute(
        "SELECT alias, version, previous, actor, reason, at FROM alias_history "
        + ("WHERE alias = :a " if alias else "")
        + "ORDER BY id",
        {"a": alias} if alias else None,
    )
    keys = ("alias", "version", "previous", "actor", "reason", "at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def champion_at(db: Database, when: str) -> int | None:
    """The champion's version at an ISO time (UTC), from the alias history."""
    value = db.scalar(
        "SELECT version FROM alias_history WHERE alias = 'champion' AND at <= :w "
        "ORDER BY id DESC LIMIT 1",
        {"w": when},
    )
    return None if value is None else int(value)


def champion_created_at(db: Database) -> str | None:
    """When the champion was trained (light: for the model-age check on the fast path)."""
    value = db.scalar(
        "SELECT m.created_at FROM aliases a JOIN models m ON m.version = a.version "
        "WHERE a.alias = 'champion'"
    )
    return None if value is None else str(value)

"""Model versions on disk and in the metadata database; loading with checksum verification.

An artifact is written completely (temp file + rename) and its sha256 recorded before any alias
can point at it; every load verifies the checksum first, so a tampered or truncated file is
refused and never unpickled.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskwatch.errors import ModelError, NotFound
from riskwatch.storage.metadata import now
from riskwatch.storage.workspace import atomic_path, atomic_write_text

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from riskwatch.config import Settings
    from riskwatch.schema import DataSchema
    from riskwatch.storage.db import Database
    from riskwatch.storage.workspace import Workspace

ARTIFACT = "model.joblib"


@dataclass
class LoadedModel:
    """A verified, loaded model version, ready to score."""

    version: int
    pipeline: Any
    schema: DataSchema
    card: dict[str, Any]
    threshold: float
    reference: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """P(positive) for each row of ``frame`` (raw feature columns)."""
        from riskwatch.training import prepare

        return self.pipeline.predict_proba(prepare(frame, self.schema))[:, 1]

    def fast_scorer(self) -> Any:
        """The verified numpy scoring path for this model (None: use :meth:`score`)."""
        if "_fast" not in self.__dict__:
            from riskwatch.fastpath import compile_scorer

            self.__dict__["_fast"] = compile_scorer(self.pipeline, self.schema, self.reference)
        return self.__dict__["_fast"]

    def score(
        self, frame: pd.DataFrame, top: int = 3
    ) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
        """Risk and top factors per row in one pass (the API's hot path)."""
        from riskwatch.explain import risk_and_reasons
        from riskwatch.training import prepare

        return risk_and_reasons(
            self.pipeline, prepare(frame, self.schema), self.schema, self.reference, top=top
        )

    def reasons(self, frame: pd.DataFrame, top: int = 3) -> list[list[dict[str, Any]]]:
        """The top risk-raising factors per row (see :mod:`riskwatch.explain`)."""
        from riskwatch.explain import reasons
        from riskwatch.training import prepare

        return reasons(
            self.pipeline, prepare(frame, self.schema), self.schema, self.reference, top=top
        )


def champion_version(db: Database) -> int | None:
    """The production model's version (light: one query, no heavy imports)."""
    value = db.scalar("SELECT version FROM aliases WHERE alias = 'champion'")
    return None if value is None else int(value)


def model_dir(ws: Workspace, version: int) -> Path:
    return ws.models / f"v{version}"


def register(
    ws: Workspace,
    db: Database,
    payload: dict[str, Any],
    card: dict[str, Any],
    *,
    dataset_version: int | None,
    fingerprint: str | None,
    kind: str,
    eval_set: str,
    extra_files: dict[str, bytes] | None = None,
) -> int:
    """Write the artifact and card, then allocate the version and record it in one transaction.

    Call while holding the workspace lock (staging folders of killed runs are removed here).
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
            top = db.scalar("SELECT MAX(version) FROM models")
            version = 1 if top is None else int(top) + 1
            card = {**card, "version": version, "sha256": digest}
            atomic_write_text(staging / "card.json", json.dumps(card, indent=2, default=str))
            atomic_write_text(staging / "card.md", card_markdown(card))
            target = model_dir(ws, version)
            if target.exists():  # left by a run killed between rename and commit
                shutil.rmtree(target)
            db.execute(
                "INSERT INTO models (version, created_at, dataset_version, dataset_fingerprint, kind, "
                "artifact, sha256, card, eval_set) VALUES (:v, :t, :d, :f, :k, :a, :s, :c, :e)",
                {
                    "v": version,
                    "t": now(),
                    "d": dataset_version,
                    "f": fingerprint,
                    "k": kind,
                    "a": f"models/v{version}/{ARTIFACT}",
                    "s": digest,
                    "c": json.dumps(card, default=str),
                    "e": eval_set,
                },
            )
            staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return version


def model_row(db: Database, version: int) -> dict[str, Any]:
    """The registry row of a version (NotFound when there is none)."""
    rows = db.execute(
        "SELECT version, created_at, dataset_version, dataset_fingerprint, kind, artifact, sha256, "
        "card, eval_set FROM models WHERE version = :v",
        {"v": version},
    )
    if not rows:
        raise NotFound(f"model version {version} does not exist (see `riskwatch models`)")
    keys = (
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
    row = dict(zip(keys, rows[0], strict=True))
    row["card"] = json.loads(row["card"])
    return row


def load_version(settings: Settings, db: Database, ws: Workspace, version: int) -> LoadedModel:
    """Load a version after verifying its artifact's sha256.

    Raises:
        ModelError: the artifact is missing, altered or unreadable.
    """
    import joblib

    from riskwatch.schema import DataSchema

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
    card = row["card"]
    return LoadedModel(
        version=version,
        pipeline=payload["pipeline"],
        schema=DataSchema.from_json(payload["schema"]),
        card=card,
        threshold=float(card.get("threshold", settings.scoring.threshold)),
        reference=payload.get("reference", {}),
    )


def load_champion(settings: Settings, db: Database, ws: Workspace) -> LoadedModel | None:
    """The champion, or None when no model has been promoted yet."""
    version = champion_version(db)
    return None if version is None else load_version(settings, db, ws, version)


def store_metrics(
    db: Database, version: int, eval_set: str, fingerprint: str | None, metrics: dict[str, Any]
) -> None:
    """Record a model's metrics on an evaluation set."""
    db.execute(
        "INSERT INTO model_metrics (model_version, eval_set, eval_fingerprint, rows, metrics, computed_at) "
        "VALUES (:v, :e, :f, :n, :m, :t)",
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
    """The newest stored metrics of a version (on ``eval_set``, else on its own evaluation set)."""
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


def list_models(db: Database) -> list[dict[str, Any]]:
    """Every version, newest first, with its aliases and key metrics on its own evaluation set."""
    aliases: dict[int, list[str]] = {}
    for alias, version in db.execute("SELECT alias, version FROM aliases"):
        aliases.setdefault(int(version), []).append(alias)
    out = []
    for version, created, dsv, kind, eval_set, card in db.execute(
        "SELECT version, created_at, dataset_version, kind, eval_set, card FROM models ORDER BY version DESC"
    ):
        m = latest_metrics(db, int(version), eval_set) or {}
        c = json.loads(card)
        out.append(
            {
                "version": version,
                "created_at": created,
                "dataset_version": dsv,
                "kind": kind,
                "aliases": sorted(aliases.get(int(version), [])),
                "eval_set": eval_set,
                "why": c.get("selection", {}).get("why"),
                "metrics": {
                    k: m.get(k)
                    for k in ("f1", "roc_auc", "pr_auc", "precision_at_k", "brier", "ece")
                },
            }
        )
    return out


def card_markdown(card: dict[str, Any]) -> str:
    """The model card as Markdown."""
    sel, cal = card.get("selection", {}), card.get("calibration", {})
    metrics = card.get("metrics") or {}
    lines = [
        f"# Model v{card.get('version')}: {card.get('kind')}",
        "",
        f"- trained: {card.get('created_at')} on dataset v{card.get('dataset_version')} "
        f"({card.get('rows')} rows, {card.get('positives')} positives; fingerprint {str(card.get('dataset_fingerprint'))[:12]})",
        f"- why this model: {sel.get('why', 'configured')}",
        f"- calibration: {cal.get('method')}{' (' + cal['why'] + ')' if cal.get('why') else ''}",
        f"- evaluation set: {card.get('eval_set')}; decision threshold {card.get('threshold')}",
        f"- code: riskwatch {card.get('code_version')} ({card.get('git_commit') or 'no git commit'}); "
        + ", ".join(f"{k} {v}" for k, v in (card.get("packages") or {}).items()),
        "",
        "## Performance",
        "",
    ]
    from riskwatch.evaluation import REPORTED

    for key in REPORTED:
        if key in metrics:
            value = metrics[key]
            lines.append(f"- {key}: {'undefined' if value is None else f'{value:.4f}'}")
    lines += [
        "",
        "## Intended use and limits",
        "",
        str(card.get("intended_use", "")),
        "",
        str(card.get("limits", "")),
    ]
    return "\n".join(lines) + "\n"

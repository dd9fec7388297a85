"""Train and register, score, deploy by the champion/challenger gate, roll back.

Aliases (``champion``, ``challenger``, ``previous``) move in one transaction together with their
history rows, so "which model was in production on date X" is always answerable and a reader
always sees a complete, registered model.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskwatch.errors import DataError, NotFound
from riskwatch.registry import evalsets, store
from riskwatch.storage.metadata import now

if TYPE_CHECKING:
    from riskwatch.config import Settings
    from riskwatch.storage.db import Database
    from riskwatch.storage.workspace import Workspace

INTENDED_USE = (
    "Rank current corporate clients by their risk of leaving so client managers can "
    "decide whom to call first; the score is a calibrated probability."
)
LIMITS = (
    "Learned from past clients of this business only; not causal (factors say what the model "
    "reacts to, not why a client leaves); re-check after drift; tiny datasets give unstable models."
)


@dataclass
class TrainOutcome:
    """A newly registered model."""

    version: int
    kind: str
    why: str
    rows: int
    seconds: float
    metrics: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DeployDecision:
    """The gate's verdict."""

    promoted: bool
    candidate: int
    champion: int | None
    metric: str
    candidate_score: float | None
    champion_score: float | None
    eval_set: str
    reason: str
    forced: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def train_and_register(
    settings: Settings,
    ws: Workspace,
    db: Database,
    *,
    reason: str = "",
    dataset_version: int | None = None,
) -> TrainOutcome:
    """Fit a model on a dataset version (default: the current one), register and score it."""
    import numpy as np

    from riskwatch.storage.datasets import current_version, get_version
    from riskwatch.training import fit

    dsv = get_version(db, dataset_version) if dataset_version else current_version(db)
    if dsv is None:
        raise NotFound("no data ingested yet: run `riskwatch ingest` (or `riskwatch run`) first")
    schema = dsv.schema
    frame = evalsets.labelled(evalsets.dataset_frame(ws, db, dsv.version), schema)
    if len(frame) == 0:
        raise DataError(f"dataset v{dsv.version} has no labelled rows to train on")
    cfg = settings.training
    extra: dict[str, bytes] = {}
    eval_path = settings.evaluation.path
    if eval_path is not None:
        eval_set, eval_fp = evalsets.eval_path_identity(Path(eval_path))
        train = frame
        holdout_how = "configured evaluation data"
    else:
        mask, holdout_how = evalsets.choose_holdout(
            frame, schema, settings.evaluation.holdout_fraction, cfg.seed
        )
        keys = evalsets.row_keys(frame, schema)[mask]
        buf = io.BytesIO()
        np.save(buf, keys)
        extra[evalsets.HOLDOUT] = buf.getvalue()
        train = frame.loc[~mask].reset_index(drop=True)
        eval_set, eval_fp = f"holdout:dataset-v{dsv.version}", None
    y = evalsets.labels(train, schema)
    fitted = fit(train, y, schema, cfg)
    if fitted.kind in ("logistic", "course"):
        from riskwatch.explain import remember_means
        from riskwatch.training import prepare

        remember_means(fitted.pipeline, prepare(train, schema))
    card = {
        "kind": fitted.kind,
        "created_at": now(),
        "reason": reason,
        "dataset_version": dsv.version,
        "dataset_fingerprint": dsv.fingerprint,
        "rows": len(train),
        "positives": int(y.sum()),
        "features": list(schema.features),
        "categorical": list(schema.categorical),
        "schema": schema.to_json(),
        "params": fitted.params,
        "selection": fitted.selection,
        "calibration": fitted.calibration,
        "seed": cfg.seed,
        "eval_set": eval_set,
        "eval_how": holdout_how,
        "threshold": settings.scoring.threshold,
        "fit_seconds": round(fitted.seconds, 3),
        "intended_use": INTENDED_USE,
        "limits": LIMITS,
        **_provenance(),
    }
    payload = {
        "pipeline": fitted.pipeline,
        "schema": schema.to_json(),
        "reference": fitted.reference,
    }
    version = store.register(
        ws,
        db,
        payload,
        card,
        dataset_version=dsv.version,
        fingerprint=dsv.fingerprint,
        kind=fitted.kind,
        eval_set=eval_set,
        extra_files=extra,
    )
    metrics = score_model(settings, ws, db, version, fingerprint=eval_fp)
    return TrainOutcome(
        version,
        fitted.kind,
        str(fitted.selection.get("why", "")),
        len(train),
        round(fitted.seconds, 3),
        metrics,
    )


def score_model(
    settings: Settings,
    ws: Workspace,
    db: Database,
    version: int,
    *,
    eval_of: int | None = None,
    fingerprint: str | None = None,
) -> dict[str, Any]:
    """Score ``version`` on the evaluation set of ``eval_of`` (default: its own) and store it."""
    from riskwatch.evaluation import compute_metrics

    model = store.load_version(settings, db, ws, version)
    owner = store.model_row(db, eval_of or version)
    frame = evalsets.evaluation_frame(settings, ws, db, owner["version"])
    sc = settings.scoring
    if len(frame) == 0:
        metrics: dict[str, Any] = {"rows": 0, "undefined": {"all": "the evaluation set is empty"}}
    else:
        metrics = compute_metrics(
            evalsets.labels(frame, model.schema),
            model.predict_proba(frame),
            threshold=model.threshold,
            top_k_fraction=sc.top_k_fraction,
            top_k_count=sc.top_k_count,
        )
    store.store_metrics(db, version, owner["eval_set"], fingerprint, metrics)
    return {**metrics, "eval_set": owner["eval_set"]}


def _set_alias(db: Database, alias: str, version: int | None, *, actor: str, reason: str) -> None:
    old = db.scalar("SELECT version FROM aliases WHERE alias = :a", {"a": alias})
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


def deploy(
    settings: Settings,
    ws: Workspace,
    db: Database,
    version: int | None = None,
    *,
    force: bool = False,
    reason: str = "",
    actor: str = "cli",
) -> DeployDecision:
    """Promote ``version`` (default: the newest) if the gate lets it, or by force with a reason."""
    if version is None:
        top = db.scalar("SELECT MAX(version) FROM models")
        if top is None:
            raise NotFound("no model to deploy: run `riskwatch train` first")
        version = int(top)
    store.model_row(db, version)
    champion = store.champion_version(db)
    metric = settings.scoring.primary_metric
    eval_set = str(db.scalar("SELECT eval_set FROM models WHERE version = :v", {"v": version}))
    cand_score = champ_score = None
    if champion is None:
        promoted, why = True, "no champion yet"
    elif champion == version:
        promoted, why = False, f"v{version} is already the champion"
    else:
        cand = score_model(settings, ws, db, version)
        champ = score_model(settings, ws, db, champion, eval_of=version)
        cand_score, champ_score = cand.get(metric), champ.get(metric)
        tol = settings.deploy.tolerance
        if cand_score is None or champ_score is None:
            promoted, why = False, f"{metric} is undefined on {eval_set}; keeping the champion"
        else:
            promoted = cand_score >= champ_score - tol
            cmp = "not worse than" if promoted else "worse than"
            why = (
                f"{metric} {cand_score:.4f} is {cmp} the champion's {champ_score:.4f} "
                f"(tolerance {tol:g}) on {eval_set}"
            )
    forced = force and not promoted and champion != version
    if forced:
        if not reason:
            from riskwatch.errors import ConfigError

            raise ConfigError(
                "deploy --force needs --reason: forced promotions are recorded with why"
            )
        promoted, why = True, f"forced: {reason} (gate said: {why})"
    decision = DeployDecision(
        promoted, version, champion, metric, cand_score, champ_score, eval_set, why, forced
    )
    with db.transaction():
        if promoted:
            if champion is not None:
                _set_alias(db, "previous", champion, actor=actor, reason=f"replaced by v{version}")
            _set_alias(db, "champion", version, actor=actor, reason=reason or why)
            if db.scalar("SELECT version FROM aliases WHERE alias = 'challenger'") == version:
                _set_alias(db, "challenger", None, actor=actor, reason="promoted")
        elif champion != version:
            _set_alias(db, "challenger", version, actor=actor, reason=why)
        db.execute(
            "INSERT INTO deployments (candidate, champion, metric, candidate_score, champion_score, eval_set, "
            "decision, reason, forced, actor, at) VALUES (:c, :h, :m, :cs, :hs, :e, :d, :r, :f, :a, :t)",
            {
                "c": version,
                "h": champion,
                "m": metric,
                "cs": cand_score,
                "hs": champ_score,
                "e": eval_set,
                "d": "promoted" if promoted else "rejected",
                "r": why,
                "f": int(forced),
                "a": actor,
                "t": now(),
            },
        )
    return decision


def rollback(
    settings: Settings, ws: Workspace, db: Database, *, reason: str = "", actor: str = "cli"
) -> int:
    """Move ``champion`` back to ``previous`` (verified loadable first); returns the new champion."""
    previous = db.scalar("SELECT version FROM aliases WHERE alias = 'previous'")
    if previous is None:
        raise NotFound("nothing to roll back to: no 'previous' model is recorded")
    store.load_version(settings, db, ws, int(previous))
    current = store.champion_version(db)
    with db.transaction():
        _set_alias(
            db, "champion", int(previous), actor=actor, reason=reason or f"rollback from v{current}"
        )
        _set_alias(db, "previous", current, actor=actor, reason="rolled back")
    return int(previous)


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


def _provenance() -> dict[str, Any]:
    from importlib import metadata

    import riskwatch

    packages: dict[str, str | None] = {}
    for name in ("scikit-learn", "numpy", "pandas", "scipy", "joblib"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    head = Path(riskwatch.__file__).resolve().parents[2] / ".git" / "HEAD"
    commit: str | None = None
    try:
        ref = head.read_text().strip()
        commit = (head.parent / ref[5:]).read_text().strip() if ref.startswith("ref: ") else ref
    except OSError:
        pass
    return {"code_version": riskwatch.__version__, "git_commit": commit, "packages": packages}

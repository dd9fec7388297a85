"""Train and register, score, deploy by the champion/challenger gate, roll back.

Aliases (``champion``, ``challenger``, ``previous``) move in one transaction together with their
history rows, so "which model was in production on date X" is always answerable and a reader
always sees a complete, registered model. The gate takes scores; it never re-scores a model whose
score on the same evaluation set is already stored.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskwatch.errors import ConfigError, DataError, NotFound
from riskwatch.storage import models as store
from riskwatch.storage.metadata import now

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.context import RunContext
    from riskwatch.model.scoring import LoadedModel


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
        """JSON-ready form."""
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
        """JSON-ready form."""
        return asdict(self)


def train_and_register(ctx: RunContext, *, reason: str = "") -> TrainOutcome:
    """Fit a model on the current dataset, score it on its evaluation set, register it."""
    import numpy as np

    from riskwatch.model.scoring import LoadedModel
    from riskwatch.model.splits import choose_holdout, labels
    from riskwatch.model.training import fit
    from riskwatch.registry.artifacts import save_model
    from riskwatch.registry.card import INTENDED_USE, LIMITS, provenance
    from riskwatch.registry.evalsets import read_eval_path
    from riskwatch.schema import model_schema
    from riskwatch.storage.files import content_identity

    settings, dsv = ctx.settings, ctx.version
    if dsv is None:
        raise NotFound("no data ingested yet: run `riskwatch ingest` (or `riskwatch run`) first")
    schema = model_schema(dsv.schema, settings.contract)
    rows = ctx.data()
    mask = rows.frame[schema.target_column].notna().to_numpy()
    frame, keys = rows.frame.loc[mask].reset_index(drop=True), rows.keys[mask]
    if len(frame) == 0:
        raise DataError(f"dataset v{dsv.version} has no labelled rows to train on")
    cfg = settings.training
    extra: dict[str, bytes] = {}
    eval_path = settings.evaluation.path
    if eval_path is not None:
        eval_set, eval_fp = content_identity(Path(eval_path))
        evaluation = read_eval_path(Path(eval_path), dsv.schema)
        train, holdout_how = frame, "configured evaluation data"
    else:
        held, holdout_how = choose_holdout(
            frame, schema, settings.evaluation.holdout_fraction, cfg.seed
        )
        buf = io.BytesIO()
        np.save(buf, keys[held])
        extra[store.HOLDOUT] = buf.getvalue()
        train = frame.loc[~held].reset_index(drop=True)
        evaluation = frame.loc[held].reset_index(drop=True)
        eval_set, eval_fp = f"holdout:dataset-v{dsv.version}", None
    y = labels(train, schema)
    fitted = fit(train, y, schema, cfg)
    candidate = LoadedModel(
        0, fitted.pipeline, schema, {}, settings.scoring.threshold, fitted.baseline
    )
    metrics = evaluate(ctx, candidate, evaluation)
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
        "metrics": metrics,
        "intended_use": INTENDED_USE,
        "limits": LIMITS,
        **provenance(),
    }
    version = save_model(
        ctx.ws,
        ctx.db,
        pipeline=fitted.pipeline,
        schema_json=schema.to_json(),
        baseline=fitted.baseline,
        card=card,
        extra_files=extra,
    )
    store.store_metrics(ctx.db, version, eval_set, eval_fp, metrics)
    card = store.model_row(ctx.db, version)["card"]
    ctx.add_model(
        LoadedModel(version, fitted.pipeline, schema, card, candidate.threshold, fitted.baseline)
    )
    ctx.cache[("eval", version)] = evaluation
    return TrainOutcome(
        version,
        fitted.kind,
        str(fitted.selection.get("why", "")),
        len(train),
        round(fitted.seconds, 3),
        {**metrics, "eval_set": eval_set},
    )


def evaluate(ctx: RunContext, model: LoadedModel, frame: pd.DataFrame) -> dict[str, Any]:
    """A model's metrics on labelled rows (pure: nothing stored)."""
    from riskwatch.model.metrics import compute_metrics
    from riskwatch.model.splits import labels

    if len(frame) == 0:
        return {"rows": 0, "undefined": {"all": "the evaluation set is empty"}}
    sc = ctx.settings.scoring
    return compute_metrics(
        labels(frame, model.schema),
        model.risk(frame),
        threshold=model.threshold,
        top_k_fraction=sc.top_k_fraction,
        top_k_count=sc.top_k_count,
    )


def score_model(ctx: RunContext, version: int, *, eval_of: int | None = None) -> dict[str, Any]:
    """Score ``version`` on the evaluation set of ``eval_of`` (default: its own) and store it."""
    from riskwatch.registry.evalsets import evaluation_rows

    owner = store.model_row(ctx.db, eval_of or version)
    metrics = evaluate(ctx, ctx.model(version), evaluation_rows(ctx, owner["version"]))
    store.store_metrics(ctx.db, version, owner["eval_set"], None, metrics)
    return {**metrics, "eval_set": owner["eval_set"]}


def gate(
    metric: str, candidate: float | None, champion: float | None, tolerance: float, eval_set: str
) -> tuple[bool, str]:
    """The champion/challenger rule: promote when not worse by more than ``tolerance``."""
    if candidate is None or champion is None:
        return False, f"{metric} is undefined on {eval_set}; keeping the champion"
    promoted = candidate >= champion - tolerance
    cmp = "not worse than" if promoted else "worse than"
    return promoted, (
        f"{metric} {candidate:.4f} is {cmp} the champion's {champion:.4f} "
        f"(tolerance {tolerance:g}) on {eval_set}"
    )


def deploy(
    ctx: RunContext,
    version: int | None = None,
    *,
    force: bool = False,
    reason: str = "",
    actor: str = "cli",
) -> DeployDecision:
    """Promote ``version`` (default: the newest) if the gate lets it, or by force with a reason."""
    db = ctx.db
    if version is None:
        version = store.newest_version(db)
        if version is None:
            raise NotFound("no model to deploy: run `riskwatch train` first")
    row = store.model_row(db, version)
    ctx.model(version)  # verified loadable (a model trained in this run is already in memory)
    eval_set = str(row["eval_set"])
    champion = store.champion_version(db)
    metric = ctx.settings.scoring.primary_metric
    cand_score = champ_score = None
    if champion is None:
        promoted, why = True, "no champion yet"
    elif champion == version:
        promoted, why = False, f"v{version} is already the champion"
    else:
        # the candidate was scored on its own set when it was trained; the champion is scored
        # on that same set now (stored under the set's name, beside its headline figures)
        cand = store.latest_metrics(db, version) or score_model(ctx, version)
        champ = score_model(ctx, champion, eval_of=version)
        cand_score, champ_score = cand.get(metric), champ.get(metric)
        promoted, why = gate(
            metric, cand_score, champ_score, ctx.settings.deploy.tolerance, eval_set
        )
    forced = force and not promoted and champion != version
    if forced:
        if not reason:
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
                store.set_alias(
                    db, "previous", champion, actor=actor, reason=f"replaced by v{version}"
                )
            store.set_alias(db, "champion", version, actor=actor, reason=reason or why)
            if store.alias_version(db, "challenger") == version:
                store.set_alias(db, "challenger", None, actor=actor, reason="promoted")
        elif champion != version:
            store.set_alias(db, "challenger", version, actor=actor, reason=why)
        store.record_deployment(db, decision.to_dict(), actor=actor)
    return decision


def rollback(ctx: RunContext, *, reason: str, actor: str = "cli") -> int:
    """Move ``champion`` back to ``previous`` (verified loadable first); returns the new champion."""
    db = ctx.db
    previous = store.alias_version(db, "previous")
    if previous is None:
        raise NotFound("nothing to roll back to: no 'previous' model is recorded")
    ctx.model(previous)
    current = store.champion_version(db)
    with db.transaction():
        store.set_alias(
            db, "champion", previous, actor=actor, reason=reason or f"rollback from v{current}"
        )
        store.set_alias(db, "previous", current, actor=actor, reason="rolled back")
    return previous

"""Train and register, score, deploy by the champion/challenger gate, roll back.

Aliases (``champion``, ``challenger``, ``previous``) move in one transaction together with their
history rows, so "which model was in production on date X" is always answerable and a reader
always sees a complete, registered model. The gate takes scores; it never re-scores a model whose
score on the same evaluation set is already stored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from riskwatch.errors import ConfigError, NotFound
from riskwatch.storage import models as store

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.context import RunContext
    from riskwatch.model.scoring import LoadedModel


@dataclass
class TrainOutcome:
    """A newly registered model (``version`` None: nothing new to register, see ``why``)."""

    version: int | None
    kind: str
    why: str
    rows: int
    seconds: float
    metrics: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

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
    """Build a challenger (see :mod:`riskwatch.registry.challenger`) and register it."""
    from riskwatch.registry.challenger import build_challenger
    from riskwatch.runtime import limited, resolve_threads

    with limited(resolve_threads(ctx.settings.runtime.threads)):
        return build_challenger(ctx, reason=reason)


def evaluate(ctx: RunContext, model: LoadedModel, frame: pd.DataFrame) -> dict[str, Any]:
    """A model's metrics on labelled rows at its threshold (nothing stored)."""
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


def score_model(
    ctx: RunContext, version: int, *, eval_of: int | None = None, record: bool = True
) -> dict[str, Any]:
    """Score ``version`` on the evaluation set of ``eval_of`` (default: its own).

    The gate records the score (``record``); ``riskwatch score`` only prints it, so a manual
    check never changes what status, the API or reports show.
    """
    from riskwatch.registry.evalsets import evaluation_rows

    owner = store.model_row(ctx.db, eval_of or version)
    recorded = store.latest_metrics(ctx.db, version)
    if eval_of in (None, version) and owner["card"].get("refit_on_all_rows") and recorded:
        note = (
            "out of sample: measured on these rows by the same plan fitted without them "
            "(this version was refit on them, so scoring it here again would be in-sample)"
        )
        return {**recorded, "note": note}
    metrics = evaluate(ctx, ctx.model(version), evaluation_rows(ctx, owner["version"]))
    if record:
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
        # both were scored on the candidate's set when it was trained (the champion's score is
        # stored under the set's name); the champion is scored now only if it changed since
        cand = store.latest_metrics(db, version) or score_model(ctx, version)
        same = (row["card"].get("gate") or {}).get("champion_version") == champion
        champ = (same and store.latest_metrics(db, champion, eval_set)) or score_model(
            ctx, champion, eval_of=version
        )
        cand_score, champ_score = cand.get(metric), champ.get(metric)
        promoted, why = gate(
            metric, cand_score, champ_score, ctx.settings.deploy.tolerance, eval_set
        )
        champ_fp = store.model_row(db, champion)["card"].get("training_fingerprint")
        if promoted and champ_fp and champ_fp == row["card"].get("training_fingerprint"):
            promoted, why = False, f"no change: v{version} trained on v{champion}'s rows and plan"
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

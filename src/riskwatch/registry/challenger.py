"""Building a challenger: chosen by cross-validation, weighted by recency out of time, judged
against the champion on rows neither trained on, then refit on every labelled row.

1. The **window**: the configured evaluation data, else the newest snapshot(s) (out of time), else
   a stratified hold-out. Neither model trains on it before the comparison.
2. The **plan** (family, parameters, calibration) by cross-validation on the rows before it.
3. **Recency**, when there are snapshots: the plan fitted with all months alike or with recent
   months weighted more (half-lives of 3 and 1 snapshots), each with and without its intercept
   matched to the newest month; the window's log loss decides (calibration and ranking together).
4. The **gate evaluation**: the chosen model and the champion scored on the window.
5. The **refit**: if the challenger would pass the gate (or there is no champion), the same plan
   is fitted on every labelled row, window included, and that refit is what is registered; the
   card keeps the gate evaluation beside what the deployed model was trained on. A model whose
   training rows and plan equal the champion's is not registered ("no change").
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskwatch.errors import DataError, NotFound
from riskwatch.storage import models as store
from riskwatch.storage.metadata import now

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from riskwatch.context import RunContext
    from riskwatch.model.scoring import LoadedModel
    from riskwatch.model.training import Fitted, Plan
    from riskwatch.registry.lifecycle import TrainOutcome
    from riskwatch.schema import DataSchema

HALF_LIVES: tuple[float | None, ...] = (None, 3.0, 1.0)


def build_challenger(ctx: RunContext, *, reason: str = "") -> TrainOutcome:
    """Choose, evaluate, refit and register a challenger (see the module docstring)."""
    import numpy as np

    from riskwatch.model.fairness import group_metrics, looks_sensitive
    from riskwatch.model.scoring import LoadedModel
    from riskwatch.model.selection import plan_for
    from riskwatch.model.splits import choose_holdout, labels, training_sample
    from riskwatch.model.training import fit
    from riskwatch.registry.evalsets import read_eval_path
    from riskwatch.registry.lifecycle import TrainOutcome, evaluate, gate
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
    chosen, sample_how = training_sample(labels(frame, schema), cfg.max_rows, cfg.seed)
    if not chosen.all():
        frame, keys = frame.loc[chosen].reset_index(drop=True), keys[chosen]
    extra: dict[str, bytes] = {}
    eval_path = settings.evaluation.path
    held = np.zeros(len(frame), dtype=bool)
    if eval_path is not None:
        eval_set, eval_fp = content_identity(Path(eval_path))
        window = read_eval_path(Path(eval_path), dsv.schema)
        how = "configured evaluation data"
    else:
        held, how = choose_holdout(frame, schema, settings.evaluation.holdout_fraction, cfg.seed)
        buf = io.BytesIO()
        np.save(buf, keys[held])
        extra[store.HOLDOUT] = buf.getvalue()
        window = frame.loc[held].reset_index(drop=True)
        eval_set, eval_fp = f"holdout:dataset-v{dsv.version}", None
    pre = frame.loc[~held].reset_index(drop=True)
    y_pre, y_window = labels(pre, schema), labels(window, schema)
    champion = ctx.champion()
    reused = _reused_plan(champion, cfg, schema)
    if reused:
        plan, selection = reused
    else:
        from riskwatch.engine.search import search_jobs

        with search_jobs(settings.engine) as (n_jobs, where):
            plan, selection = plan_for(pre[list(schema.features)], y_pre, schema, cfg, n_jobs)
        selection["searched_on"] = where
    gate_fit, recency = _recency(pre, y_pre, window, y_window, schema, plan, cfg.recency)
    plan = gate_fit.plan
    rule = _threshold_rule(ctx, plan.kind)
    gate_model = LoadedModel(0, gate_fit.pipeline, schema, {}, 0.5, gate_fit.baseline)
    p_window = gate_model.risk(window) if len(window) else np.empty(0)
    champion_metrics = evaluate(ctx, champion, window) if champion is not None else None
    metric = settings.scoring.primary_metric
    provisional = evaluate(ctx, gate_model, window)
    passes = (
        champion is None
        or gate(
            metric,
            provisional.get(metric),
            (champion_metrics or {}).get(metric),
            settings.deploy.tolerance,
            eval_set,
        )[0]
    )
    refit = bool(passes and held.any())
    final = fit(frame, labels(frame, schema), schema, plan) if refit else gate_fit
    trained = frame if refit else pre
    fingerprint = training_fingerprint(keys if refit else keys[~held], plan, schema)
    if champion is not None and champion.card.get("training_fingerprint") == fingerprint:
        return TrainOutcome(
            None,
            plan.kind,
            f"no change: v{champion.version} already trained on these rows with this plan",
            len(trained),
            round(final.seconds, 3),
            {},
        )
    final_model = LoadedModel(0, final.pipeline, schema, {}, 0.5, final.baseline)
    current = ctx.data().frame
    threshold, threshold_how = _threshold(
        ctx, rule, final_model, current, schema, y_window, p_window
    )
    metrics = evaluate(ctx, replace(gate_model, threshold=threshold), window)
    fairness = {
        col: group_metrics(y_window, p_window, window[col], threshold)
        for col in schema.sensitive
        if col in window.columns and len(window)
    }
    warnings = [
        f"{col!r} looks like a protected attribute and is a feature: declare it in "
        "contract.sensitive (then it is left out unless contract.use_sensitive = true)"
        for col in looks_sensitive(schema.features)
        if col not in schema.sensitive
    ]
    snapshot = schema.snapshot_column
    card = {
        "kind": plan.kind,
        "created_at": now(),
        "reason": reason,
        "dataset_version": dsv.version,
        "dataset_fingerprint": dsv.fingerprint,
        "rows": len(trained),
        "positives": int(labels(trained, schema).sum()),
        "training_sample": sample_how,
        "trained_through": str(trained[snapshot].max())[:10] if snapshot else None,
        "training_fingerprint": fingerprint,
        "refit_on_all_rows": refit,
        "features": list(schema.features),
        "categorical": list(schema.categorical),
        "schema": schema.to_json(),
        "plan": plan.describe(),
        "params": final.params,
        "selection": selection,
        "search": {"settings": _search_settings(cfg), "at": selection.get("searched_at", now())},
        "recency": recency,
        "calibration": final.calibration,
        "seed": cfg.seed,
        "eval_set": eval_set,
        "eval_how": how,
        "gate": {
            "eval_set": eval_set,
            "rows": len(window),
            "metric": metric,
            "candidate": metrics.get(metric),
            "champion_version": champion.version if champion else None,
            "champion": (champion_metrics or {}).get(metric),
            "note": "the candidate's figures are those of the same plan fitted without these rows",
        },
        "threshold": threshold,
        "threshold_rule": threshold_how,
        "fairness": fairness,
        "warnings": warnings,
        "fit_seconds": round(gate_fit.seconds + (final.seconds if refit else 0.0), 3),
        "metrics": metrics,
        **_card_texts(),
    }
    version = _register(ctx, final, schema, card, extra)
    store.store_metrics(ctx.db, version, eval_set, eval_fp, metrics)
    if champion is not None and champion_metrics is not None:
        store.store_metrics(ctx.db, champion.version, eval_set, eval_fp, champion_metrics)
    registered = store.model_row(ctx.db, version)["card"]
    ctx.add_model(
        LoadedModel(version, final.pipeline, schema, registered, threshold, final.baseline)
    )
    ctx.cache[("eval", version)] = window
    return TrainOutcome(
        version,
        plan.kind,
        str(selection.get("why", "")),
        len(trained),
        round(card["fit_seconds"], 3),
        {**metrics, "eval_set": eval_set},
        warnings,
    )


def _recency(
    pre: pd.DataFrame,
    y_pre: np.ndarray,
    window: pd.DataFrame,
    y_window: np.ndarray,
    schema: DataSchema,
    plan: Plan,
    mode: str,
) -> tuple[Fitted, dict[str, Any]]:
    """Fit the plan on ``pre`` for each recency scheme; keep the best by the window's log loss."""
    import numpy as np

    from riskwatch.model.training import ShiftedClassifier, fit, intercept_shift

    snap = schema.snapshot_column
    usable = (
        mode == "auto"
        and snap is not None
        and snap in pre.columns
        and pre[snap].nunique() >= 3
        and len(window) > 0
        and 0 < y_window.sum() < len(y_window)
    )
    if not usable:
        why = "all months weighted alike" + ("" if mode == "auto" else " (training.recency = none)")
        return fit(pre, y_pre, schema, plan), {"chosen": why, "tried": []}
    newest = (pre[snap] == pre[snap].max()).to_numpy()
    tried: list[dict[str, Any]] = []
    best: tuple[dict[str, Any], Fitted, float] | None = None
    for half_life in HALF_LIVES:
        fitted = fit(pre, y_pre, schema, replace(plan, half_life=half_life))
        p = fitted.pipeline.predict_proba(window[list(schema.features)])[:, 1]
        offset = intercept_shift(
            fitted.pipeline.predict_proba(pre.loc[newest, list(schema.features)])[:, 1],
            y_pre[newest],
        )
        for recalibrate in (False, True):
            q = _shift(p, offset) if recalibrate else p
            row = {
                "half_life": half_life,
                "recalibrate": recalibrate,
                "log_loss": _log_loss(y_window, q),
                "mean_predicted": float(np.mean(q)),
                "observed": float(np.mean(y_window)),
            }
            tried.append(row)
            if best is None or row["log_loss"] < best[0]["log_loss"]:
                best = (row, fitted, offset)
    assert best is not None
    row, fitted, offset = best
    fitted.plan = replace(fitted.plan, recalibrate=bool(row["recalibrate"]))
    if row["recalibrate"]:
        fitted.pipeline.steps[-1] = (
            "model",
            ShiftedClassifier(fitted.pipeline.steps[-1][1], offset),
        )
        fitted.calibration = {**fitted.calibration, "intercept_shift": round(offset, 6)}
    chosen = (
        ("all months alike" if row["half_life"] is None else f"half-life {row['half_life']:g}")
        + (", intercept matched to the newest month" if row["recalibrate"] else "")
        + f": lowest log loss out of time ({row['log_loss']:.4f} on {len(y_window)} rows)"
    )
    return fitted, {"chosen": chosen, "tried": tried}


def _search_settings(cfg: Any) -> dict[str, Any]:
    keys = ("model", "calibration", "selection_metric", "seed", "cv_folds")
    return {k: getattr(cfg, k) for k in keys}


def _reused_plan(
    champion: LoadedModel | None, cfg: Any, schema: DataSchema
) -> tuple[Plan, dict[str, Any]] | None:
    """The champion's family, parameters and calibration, when its search is recent enough and
    was made with the same settings on the same features (retraining often, searching seldom)."""
    from datetime import UTC, datetime, timedelta

    from riskwatch.model.training import Plan

    if champion is None or cfg.search_every_days <= 0:
        return None
    card = champion.card
    search, selection = card.get("search") or {}, card.get("selection") or {}
    if search.get("settings") != _search_settings(cfg) or "winner" not in selection:
        return None
    if list(card.get("features") or []) != list(schema.features):
        return None
    searched = datetime.fromisoformat(search["at"])
    if datetime.now(UTC) - searched > timedelta(days=cfg.search_every_days):
        return None
    plan = Plan(
        kind=selection["winner"],
        params=selection.get("params") or {},
        calibration=(selection.get("calibration") or {}).get("method", "none"),
        seed=cfg.seed,
    )
    why = (
        f"{selection.get('why', '')} (searched {search['at'][:10]} for v{champion.version}; "
        f"reused until {cfg.search_every_days:g} days old: training.search_every_days)"
    )
    return plan, {
        **selection,
        "why": why,
        "reused_from": champion.version,
        "searched_at": search["at"],
    }


def _shift(p: np.ndarray, offset: float) -> np.ndarray:
    import numpy as np

    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.asarray(1 / (1 + np.exp(-(np.log(p / (1 - p)) + offset))))


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    import numpy as np

    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def training_fingerprint(keys: np.ndarray, plan: Plan, schema: DataSchema) -> str:
    """A fingerprint of what a model was trained on and how (rows, plan, features)."""
    import numpy as np

    digest = hashlib.sha256(np.sort(np.asarray(keys, dtype=np.uint64)).tobytes())
    digest.update(plan.describe().encode())
    digest.update(json.dumps([list(schema.features), list(schema.categorical)]).encode())
    return digest.hexdigest()


def _threshold_rule(ctx: RunContext, kind: str) -> float | str:
    """The configured threshold rule; the course preset keeps its 0.5 unless one is configured."""
    scoring = ctx.settings.scoring
    if kind == "course" and "threshold" not in scoring.model_fields_set:
        return 0.5
    return scoring.threshold


def _threshold(
    ctx: RunContext,
    rule: float | str,
    model: LoadedModel,
    current: pd.DataFrame,
    schema: DataSchema,
    y_window: np.ndarray,
    p_window: np.ndarray,
) -> tuple[float, str]:
    from riskwatch.model.splits import current_clients
    from riskwatch.model.thresholds import resolve

    risk = model.risk(current_clients(current, schema)) if rule == "capacity" else p_window
    return resolve(
        rule,
        capacity=ctx.settings.scoring.top_k_count,
        current_risk=risk,
        y_window=y_window,
        p_window=p_window,
    )


def _register(
    ctx: RunContext,
    fitted: Fitted,
    schema: DataSchema,
    card: dict[str, Any],
    extra: dict[str, bytes],
) -> int:
    from riskwatch.registry.artifacts import save_model

    return save_model(
        ctx.ws,
        ctx.db,
        pipeline=fitted.pipeline,
        schema_json=schema.to_json(),
        baseline=fitted.baseline,
        card=card,
        extra_files=extra,
    )


def _card_texts() -> dict[str, Any]:
    from riskwatch.registry.card import INTENDED_USE, LIMITS, provenance

    return {"intended_use": INTENDED_USE, "limits": LIMITS, **provenance()}

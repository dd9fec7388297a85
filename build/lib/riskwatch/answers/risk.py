"""Who do we call? The ranked call list: current clients by risk, value at risk, main factors.

Computed once per (champion, dataset) version and kept in the context, so a run, an API process
and the report ask the champion once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.context import RunContext
    from riskwatch.model.scoring import LoadedModel

FACTORS_FOR = 500  # reasons are computed for the top rows only: that is who gets called


def rank_clients(
    model: LoadedModel, clients: pd.DataFrame, *, factors_for: int = FACTORS_FOR
) -> pd.DataFrame:
    """Score and rank clients; the top ``factors_for`` get their main risk factors.

    Returns:
        A frame with rank, id, risk, value_at_risk (when a value column is configured),
        snapshot (when configured) and factors (JSON text), highest risk first.
    """
    import pandas as pd

    schema = model.schema
    risk = model.risk(clients)
    out = pd.DataFrame({"id": clients[schema.id_column].astype("string"), "risk": risk})
    out["at_risk"] = out["risk"] >= model.threshold
    if schema.value_column and schema.value_column in clients.columns:
        out["value"] = clients[schema.value_column].to_numpy()
        out["value_at_risk"] = out["risk"] * out["value"]
    if schema.snapshot_column and schema.snapshot_column in clients.columns:
        out["snapshot"] = clients[schema.snapshot_column].astype("string").to_numpy()
    order = out["risk"].to_numpy().argsort(kind="stable")[::-1]
    out = out.iloc[order].reset_index(drop=True)
    out.insert(0, "rank", range(1, len(out) + 1))
    top = clients.iloc[order[:factors_for]]
    reasons = model.factors(top, top=3) if len(top) else []
    out["factors"] = [json.dumps(r, default=str) for r in reasons] + ["[]"] * (
        len(out) - len(reasons)
    )
    return out


def call_list(ctx: RunContext) -> tuple[pd.DataFrame | None, int | None, int | None]:
    """The champion's ranked call list on the current dataset: (list, model, dataset version)."""
    from riskwatch.model.splits import current_clients

    champion = ctx.champion_version()
    dataset = ctx.version
    if champion is None or dataset is None:
        return None, champion, dataset.version if dataset else None
    key = ("call_list", champion, dataset.version)
    if key not in ctx.cache:
        model = ctx.model(champion)
        ctx.cache[key] = rank_clients(model, current_clients(ctx.data().frame, model.schema))
    frame: pd.DataFrame = ctx.cache[key]
    return frame, champion, dataset.version


def risk(ctx: RunContext, top: int = 20) -> dict[str, Any]:
    """The top of the ranked call list of current clients, JSON-ready."""
    frame, version, dataset = call_list(ctx)
    if frame is None:
        return {"model_version": version, "clients": [], "note": "no champion or no data yet"}
    clients = []
    for row in frame.head(top).to_dict(orient="records"):
        row["factors"] = json.loads(row.get("factors") or "[]")
        row["at_risk"] = bool(row["at_risk"])
        clients.append(
            {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        )
    return {
        "model_version": version,
        "dataset_version": dataset,
        "threshold": ctx.model(version).threshold if version is not None else None,
        "at_risk": int(frame["at_risk"].sum()),
        "total": len(frame),
        "clients": clients,
    }


def record_top(ctx: RunContext) -> None:
    """Store the top of the current call list (the next drift check measures turnover)."""
    from riskwatch.storage.records import record_call_list

    frame, version, dataset = call_list(ctx)
    if frame is None or version is None:
        return
    top = frame["id"].head(ctx.settings.scoring.top_k_count).astype(str).tolist()
    record_call_list(ctx.db, model_version=version, dataset_version=dataset, top_ids=top)

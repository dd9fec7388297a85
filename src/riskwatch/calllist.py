"""The ranked call list: current clients ordered by risk, with value at risk and main factors."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.config import Settings
    from riskwatch.registry import LoadedModel
    from riskwatch.schema import DataSchema
    from riskwatch.storage.db import Database
    from riskwatch.storage.workspace import Workspace

FACTORS_FOR = 500  # reasons are computed for the top rows only: that is who gets called


def current_clients(data: pd.DataFrame, schema: DataSchema) -> pd.DataFrame:
    """The latest record of every client that has not already left.

    Records are ordered by the snapshot column when there is one, else by arrival order.
    """
    frame = data
    if schema.snapshot_column and schema.snapshot_column in frame.columns:
        frame = frame.sort_values(schema.snapshot_column, kind="stable")
    latest = frame.drop_duplicates(subset=[schema.id_column], keep="last")
    gone = latest[schema.target_column].fillna(0).astype("int64") == 1
    return latest.loc[~gone].reset_index(drop=True)


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
    risk: Any = model.predict_proba(clients[list(schema.features)]) if len(clients) else []
    out = pd.DataFrame({"id": clients[schema.id_column].astype("string"), "risk": risk})
    if schema.value_column and schema.value_column in clients.columns:
        out["value"] = clients[schema.value_column].to_numpy()
        out["value_at_risk"] = out["risk"] * out["value"]
    if schema.snapshot_column and schema.snapshot_column in clients.columns:
        out["snapshot"] = clients[schema.snapshot_column].astype("string").to_numpy()
    order = out["risk"].to_numpy().argsort(kind="stable")[::-1]
    out = out.iloc[order].reset_index(drop=True)
    out.insert(0, "rank", range(1, len(out) + 1))
    top = clients.iloc[order[:factors_for]]
    reasons = model.reasons(top[list(schema.features)], top=3) if len(top) else []
    out["factors"] = [json.dumps(r, default=str) for r in reasons] + ["[]"] * (
        len(out) - len(reasons)
    )
    return out


_CACHE: dict[tuple[str, int, int], pd.DataFrame] = {}


def call_list(
    settings: Settings, ws: Workspace, db: Database
) -> tuple[pd.DataFrame | None, int | None, int | None]:
    """The ranked call list of the champion on the current dataset, cached per (model, dataset) version."""
    from riskwatch.registry import champion_version, load_version
    from riskwatch.storage.datasets import current_version, load_dataset

    version = champion_version(db)
    dataset = current_version(db)
    if version is None or dataset is None:
        return None, version, dataset.version if dataset else None
    key = (str(ws.root), version, dataset.version)
    if key not in _CACHE:
        model = load_version(settings, db, ws, version)
        _CACHE.clear()
        _CACHE[key] = rank_clients(model, current_clients(load_dataset(ws, dataset), model.schema))
    return _CACHE[key], version, dataset.version

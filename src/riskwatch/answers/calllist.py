"""Whom do we call, and who is this client? The call list as a client manager browses it
(search by id, filters on the contract's categorical columns, sort, pages) and one client's
risk across snapshots with the reasons.

Built on :func:`riskwatch.answers.risk.call_list`, so the dashboard, its CSV export, ``GET /risk``
and the report rank the same clients with the same risks. Reads only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from riskwatch.errors import NotFound

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.context import RunContext

SORTS = {"risk": "risk", "value": "value_at_risk"}
"""Sort keys people choose -> call list columns (highest first)."""
PAGE_SIZES = (25, 50, 100, 250)


@dataclass(frozen=True)
class ListQuery:
    """One view of the call list: the same query gives the page and its CSV export."""

    search: str = ""
    filters: tuple[str, ...] = ()  # "column:value" items, as the form sends them
    sort: str = "risk"
    page: int = 1
    size: int = 50

    def chosen(self, columns: tuple[str, ...]) -> dict[str, str]:
        """Filter column -> value, for the known ``columns`` only (other items are ignored)."""
        out: dict[str, str] = {}
        for item in self.filters:
            column = max((c for c in columns if item.startswith(c + ":")), key=len, default=None)
            if column is not None and item[len(column) + 1 :] != "":
                out[column] = item[len(column) + 1 :]
        return out


def view_frame(ctx: RunContext) -> tuple[pd.DataFrame | None, tuple[str, ...], int | None]:
    """The ranked call list with the contract's categorical columns beside it (cached per
    champion and dataset version), those columns' names and the champion's version."""
    from riskwatch.answers.risk import call_list
    from riskwatch.model.splits import current_clients

    frame, version, dataset = call_list(ctx)
    if frame is None or version is None:
        return None, (), version
    schema = ctx.model(version).schema
    columns = tuple(c for c in schema.categorical if c not in ("id", "rank"))
    key = ("call_list_view", version, dataset)
    if key not in ctx.cache:
        clients = current_clients(ctx.data().frame, schema)
        ctx.cache[("current_clients", version, dataset)] = clients
        extra = clients[[schema.id_column, *columns]].astype("string")
        extra = extra.drop_duplicates(subset=[schema.id_column]).rename(
            columns={schema.id_column: "id"}
        )
        ctx.cache[key] = frame.merge(extra, on="id", how="left", sort=False)
    out: pd.DataFrame = ctx.cache[key]
    return out, columns, version


def facets(frame: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, list[str]]:
    """The values each filter column takes in the call list (sorted)."""
    return {c: sorted(str(v) for v in frame[c].dropna().unique()) for c in columns}


def select(frame: pd.DataFrame, query: ListQuery, columns: tuple[str, ...]) -> pd.DataFrame:
    """The rows of ``frame`` matching ``query``, in its order (pure)."""
    mask = frame["id"].notna()
    if query.search.strip():
        needle = query.search.strip().casefold()
        mask &= frame["id"].astype("string").str.casefold().str.contains(needle, regex=False)
    for column, value in query.chosen(columns).items():
        mask &= frame[column] == value
    rows = frame.loc[mask.fillna(False).to_numpy()]
    by = SORTS.get(query.sort, "risk")
    if by in rows.columns and by != "risk":
        rows = rows.sort_values([by, "rank"], ascending=[False, True], na_position="last")
    return rows


def browse(ctx: RunContext, query: ListQuery) -> dict[str, Any]:
    """One page of the call list for ``query``, with the filter values and the page count."""
    frame, columns, version = view_frame(ctx)
    if frame is None:
        return {"model_version": version, "total": 0, "matched": 0, "clients": [], "facets": {}}
    rows = select(frame, query, columns)
    size = query.size if query.size in PAGE_SIZES else PAGE_SIZES[1]
    pages = max(1, -(-len(rows) // size))
    page = min(max(1, query.page), pages)
    part = _with_factors(ctx, version, rows.iloc[(page - 1) * size : page * size])
    return {
        "model_version": version,
        "total": len(frame),
        "matched": len(rows),
        "page": page,
        "pages": pages,
        "size": size,
        "facets": facets(frame, columns),
        "value": "value_at_risk" in frame.columns,
        "clients": [_client_row(r) for r in part.to_dict(orient="records")],
    }


def export_rows(ctx: RunContext, query: ListQuery) -> tuple[list[str], list[list[Any]]]:
    """Every row matching ``query`` (no paging) as CSV columns and cells."""
    frame, columns, _ = view_frame(ctx)
    if frame is None:
        return ["rank", "id", "risk"], []
    rows = select(frame, query, columns)
    header = [c for c in ("rank", "id", "risk", "at_risk", "value", "value_at_risk") if c in rows]
    header += [c for c in ("snapshot", *columns) if c in rows]
    out = []
    for rec in rows[[*header, "factors"]].to_dict(orient="records"):
        factors = json.loads(rec.pop("factors") or "[]")
        cells = [None if _missing(rec[c]) else rec[c] for c in header]
        out.append([*cells, "; ".join(f"{f['feature']} = {f['value']}" for f in factors)])
    return [*header, "main factors"], out


def client(ctx: RunContext, client_id: str) -> dict[str, Any]:
    """One client: place on the call list, the champion's risk at every snapshot, and reasons.

    Raises:
        NotFound: no champion yet, or no stored row has this id.
    """
    import numpy as np

    model = ctx.champion()
    if model is None:
        raise NotFound("no champion yet: run `riskwatch run` first")
    schema = model.schema
    data = ctx.data().frame
    rows = data.loc[(data[schema.id_column].astype("string") == client_id).fillna(False)]
    if rows.empty:
        raise NotFound(f"client {client_id[:60]!r} is not in the current dataset")
    if schema.snapshot_column and schema.snapshot_column in rows.columns:
        rows = rows.sort_values(schema.snapshot_column, kind="stable")
    risk, factors = model.risk_and_factors(rows, top=3)
    target = rows[schema.target_column]
    history = []
    for i in range(len(rows)):
        label = target.iloc[i]
        when = rows[schema.snapshot_column].iloc[i] if schema.snapshot_column else None
        history.append(
            {
                "snapshot": None if _missing(when) else str(when)[:10],
                "risk": float(np.round(risk[i], 6)),
                "left": None if _missing(label) else bool(int(label) == 1),
            }
        )
    frame, _, _ = view_frame(ctx)
    listed = None if frame is None else frame.loc[frame["id"] == client_id]
    latest = rows.iloc[-1]
    return {
        "id": client_id,
        "model_version": model.version,
        "threshold": model.threshold,
        "listed": None if listed is None or listed.empty else _client_row(listed.iloc[0].to_dict()),
        "history": history,
        "factors": factors[-1] if factors else [],
        "features": {c: None if _missing(latest[c]) else latest[c] for c in schema.features},
    }


def _with_factors(ctx: RunContext, version: int | None, part: pd.DataFrame) -> pd.DataFrame:
    """``part`` with the factors of rows below the precomputed top (a page sorted by value)."""
    from riskwatch.answers.risk import FACTORS_FOR

    late = part["rank"] > FACTORS_FOR
    if version is None or not late.any():
        return part
    dataset = ctx.version.version if ctx.version else None
    clients = ctx.cache.get(("current_clients", version, dataset))
    if clients is None:
        return part
    model = ctx.model(version)
    ids = clients[model.schema.id_column].astype("string")
    wanted = part.loc[late, "id"].tolist()
    rows = clients.loc[ids.isin(wanted).to_numpy()]
    found = dict(zip(ids[ids.isin(wanted)].tolist(), model.factors(rows, top=3), strict=True))
    out = part.copy()
    out.loc[late, "factors"] = [json.dumps(found.get(i, []), default=str) for i in wanted]
    return out


def _client_row(rec: dict[str, Any]) -> dict[str, Any]:
    out = {k: (None if _missing(v) else v) for k, v in rec.items()}
    out["factors"] = json.loads(rec.get("factors") or "[]")
    out["at_risk"] = bool(rec.get("at_risk"))
    return out


def _missing(value: Any) -> bool:
    try:
        return bool(value is None or value != value)
    except (TypeError, ValueError):  # pandas NA compares to NA
        return True

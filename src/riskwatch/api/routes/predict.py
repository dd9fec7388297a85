"""``POST /prediction`` (JSON records) and ``POST /prediction/csv`` (an uploaded file).

Nothing here reads a file the caller names: clients come in the request body.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from starlette.exceptions import HTTPException

from riskwatch.api.schemas import PredictionResponse, record_model, request_model

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.api.state import ApiState
    from riskwatch.registry import LoadedModel
    from riskwatch.schema import DataSchema


def build(schema: DataSchema | None, max_rows: int) -> APIRouter:
    """The prediction routes with a request schema from the data contract."""
    router = APIRouter(tags=["prediction"])
    Record = record_model(schema)
    Body = request_model(Record, max_rows)

    def prediction(body: Any, request: Request) -> dict[str, Any]:
        """Score clients sent as JSON records: risk, label, rank and top factors per client."""
        state: ApiState = request.app.state.rw
        model = _champion(state)
        rows = [r.model_dump(by_alias=True) for r in body.records]
        return score_records(model, rows, state.settings.scoring.threshold)

    # the body model is built at run time, so its annotation is set here (not a string)
    prediction.__annotations__ = {"body": Body, "request": Request, "return": dict[str, Any]}
    router.post("/prediction", response_model=PredictionResponse)(prediction)

    @router.post("/prediction/csv", response_model=PredictionResponse)
    async def prediction_csv(
        request: Request, file: Annotated[UploadFile, File(description="A CSV of clients.")]
    ) -> dict[str, Any]:
        """Score clients sent as an uploaded CSV file with the contract's columns."""
        import pandas as pd

        state: ApiState = request.app.state.rw
        model = _champion(state)
        raw = await file.read()
        try:
            frame = pd.read_csv(io.BytesIO(raw), dtype={model.schema.id_column: "string"})
        except (ValueError, UnicodeDecodeError) as exc:
            raise HTTPException(
                422, f"file: not a readable CSV ({str(exc).splitlines()[0]})"
            ) from None
        if len(frame) > max_rows:
            raise HTTPException(413, f"file: more than {max_rows} rows (api.max_rows_per_request)")
        missing = [c for c in model.schema.features if c not in frame.columns]
        if missing or frame.empty:
            detail = f"file: missing column(s) {', '.join(missing)}" if missing else "file: no rows"
            raise HTTPException(422, detail)
        return score_frame(model, frame, state.settings.scoring.threshold)

    return router


def _champion(state: ApiState) -> LoadedModel:
    model = state.model()
    if model is None:
        raise HTTPException(503, "no champion model is deployed yet (run 'riskwatch run')")
    return model


def score_records(
    model: LoadedModel, rows: list[dict[str, Any]], threshold: float
) -> dict[str, Any]:
    """Score JSON records with the champion (the numpy fast path when the model allows it)."""
    import pandas as pd

    fast = model.fast_scorer()
    if fast is None:
        return score_frame(model, pd.DataFrame.from_records(rows), threshold)
    risk, reasons = fast.score(rows, top=3)
    return _answer(model, [r.get(model.schema.id_column) for r in rows], risk, reasons, threshold)


def score_frame(model: LoadedModel, frame: pd.DataFrame, threshold: float) -> dict[str, Any]:
    """Risk, label, rank and factors for each row of ``frame``."""
    schema = model.schema
    missing = [c for c in schema.features if c not in frame.columns]
    if missing:
        raise HTTPException(422, f"missing column(s) {', '.join(missing)}")
    risk, reasons = model.score(frame, top=3)
    ids = (
        frame[schema.id_column].tolist()
        if schema.id_column in frame.columns
        else [None] * len(frame)
    )
    return _answer(model, ids, risk, reasons, threshold)


def _answer(
    model: LoadedModel, ids: list[Any], risk: Any, reasons: list[Any], threshold: float
) -> dict[str, Any]:
    """The response body: risk, label, rank (1 = highest in this request) and factors."""
    import numpy as np

    schema = model.schema
    order = np.argsort(-risk, kind="stable")
    ranks = np.empty(len(risk), dtype=int)
    ranks[order] = np.arange(1, len(risk) + 1)
    out = []
    for i, p in enumerate(risk.tolist()):
        at_risk = p >= threshold
        out.append(
            {
                "id": None if _isna(ids[i]) else str(ids[i]),
                "risk": round(float(p), 6),
                "label": str(schema.positive_label if at_risk else schema.negative_label),
                "at_risk": at_risk,
                "rank": int(ranks[i]),
                "factors": reasons[i],
            }
        )
    return {"model_version": model.version, "threshold": threshold, "predictions": out}


def _isna(value: Any) -> bool:
    return value is None or value != value

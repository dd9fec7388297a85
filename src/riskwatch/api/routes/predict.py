"""``POST /prediction`` (JSON records) and ``POST /prediction/csv`` (an uploaded file).

Nothing here reads a file the caller names: clients come in the request body. Records are
validated against the champion being served (:func:`riskwatch.api.deps.get_records`).
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import Response

from riskwatch.answers.predictions import predict_frame, predict_records
from riskwatch.api.deps import Champion, Records, State
from riskwatch.api.schemas import PredictionResponse
from riskwatch.runtime import one_thread_here

router = APIRouter(tags=["prediction"])


def _built(payload: dict[str, Any]) -> Response:
    """The response this server built, serialised once (in Rust) without validating it again:
    ``PredictionResponse`` documents it; tests check that every answer conforms."""
    from pydantic_core import to_json

    body = to_json(payload, inf_nan_mode="null", fallback=lambda value: value.item())
    return Response(body, media_type="application/json")


@router.post("/prediction", response_model=PredictionResponse)
def prediction(records: Records, champion: Champion, state: State) -> Response:
    """Score clients sent as JSON records: risk, label, rank and top factors per client."""
    one_thread_here()
    return _built(predict_records(champion, records, champion.threshold))


@router.post("/prediction/csv", response_model=PredictionResponse)
async def prediction_csv(
    champion: Champion,
    state: State,
    file: Annotated[UploadFile, File(description="A CSV of clients.")],
) -> Response:
    """Score clients sent as an uploaded CSV file with the id and feature columns only.

    Cells are read as text and typed by the contract: a numeric cell is a finite number or a
    null token (``""``, ``NA``, ``null``...); unknown columns are refused, as in ``/prediction``.
    """
    import pandas as pd

    raw = await file.read()
    try:
        frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, na_filter=False)
    except (ValueError, UnicodeDecodeError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise HTTPException(422, f"file: not a readable CSV ({first})") from None
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    limit = state.settings.api.max_rows_per_request
    if len(frame) > limit:
        raise HTTPException(413, f"file: more than {limit} rows (api.max_rows_per_request)")
    one_thread_here()
    return _built(predict_frame(champion, frame, champion.threshold))

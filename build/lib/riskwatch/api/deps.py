"""Dependencies of the routes, as ``Annotated`` aliases: the state, the served champion, records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from riskwatch.api.schemas import PredictionRequest
from riskwatch.api.state import ApiState
from riskwatch.model.scoring import LoadedModel


def get_state(request: Request) -> ApiState:
    """The process's :class:`ApiState`."""
    state: ApiState = request.app.state.rw
    return state


State = Annotated[ApiState, Depends(get_state)]


def get_champion(state: State) -> LoadedModel:
    """The model being served, or 503 saying why there is none (none deployed, or refused)."""
    model = state.champion()
    if model is None:
        raise HTTPException(503, state.serving()["reason"] or "no model is being served")
    return model


Champion = Annotated[LoadedModel, Depends(get_champion)]


def get_records(body: PredictionRequest, state: State, champion: Champion) -> list[dict[str, Any]]:
    """The request's records, validated against the served champion's contract.

    The record model follows the champion: a new champion with another contract is validated
    against its own columns from the first request it serves.
    """
    limit = state.settings.api.max_rows_per_request
    if len(body.records) > limit:
        raise HTTPException(422, f"records: more than {limit} (api.max_rows_per_request)")
    record = state.record_model()
    errors: list[Any] = []
    rows: list[dict[str, Any]] = []
    for i, raw in enumerate(body.records):
        try:
            rows.append(record.model_validate(raw).model_dump(by_alias=True))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                errors.append({**err, "loc": ("body", "records", i, *err["loc"])})
            if len(errors) >= 50:
                break
    if errors:
        raise RequestValidationError(errors)
    return rows


Records = Annotated[list[dict[str, Any]], Depends(get_records)]

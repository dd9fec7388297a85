"""Request and response models; the client record model comes from the data contract."""

from __future__ import annotations

import keyword
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

if TYPE_CHECKING:
    from riskwatch.schema import DataSchema


class Factor(BaseModel):
    """One feature that pushes a client's risk up."""

    feature: str
    value: Any = None
    effect: float


class Prediction(BaseModel):
    """The risk of one client."""

    id: str | None
    risk: float = Field(description="Calibrated probability of leaving (0-1).")
    label: str = Field(description="The predicted class at the configured threshold.")
    at_risk: bool
    rank: int = Field(description="1 = highest risk in this request.")
    factors: list[Factor]


class PredictionResponse(BaseModel):
    """Risk scores for the clients of a request."""

    model_version: int
    threshold: float
    predictions: list[Prediction]


def record_model(schema: DataSchema | None) -> type[BaseModel]:
    """A pydantic model of one client record built from the contract.

    Every feature is required (``null`` allowed: a missing value); numeric features must be
    numbers, categorical ones text (unknown categories are fine). Unknown fields are refused
    so that a misspelled column is caught.
    """
    if schema is None:
        return create_model("ClientRecord", __config__=ConfigDict(extra="allow"))
    fields: dict[str, Any] = {}
    used: set[str] = set()

    def name_for(column: str) -> str:
        base = re.sub(r"\W", "_", column) or "field"
        if base[0].isdigit() or keyword.iskeyword(base) or base.startswith("_"):
            base = "f_" + base.lstrip("_")
        name, i = base, 1
        while name in used:
            i += 1
            name = f"{base}_{i}"
        used.add(name)
        return name

    fields[name_for(schema.id_column)] = (
        str | int | None,
        Field(default=None, alias=schema.id_column, description="Client identifier."),
    )
    for col in schema.features:
        kind: Any = float | None if col in schema.numeric else str | None
        fields[name_for(col)] = (kind, Field(..., alias=col))
    return create_model(
        "ClientRecord",
        __config__=ConfigDict(extra="forbid", populate_by_name=True, str_max_length=1000),
        **fields,
    )


def request_model(record: type[BaseModel], max_rows: int) -> type[BaseModel]:
    """The body of ``POST /prediction``: ``{"records": [...]}``."""
    return create_model(
        "PredictionRequest",
        __config__=ConfigDict(extra="forbid"),
        records=(list[record], Field(..., min_length=1, max_length=max_rows)),  # type: ignore[valid-type]
    )

"""Request and response models of every route; the client record model comes from the contract.

Responses mirror the shared answers (:mod:`riskwatch.answers`), so the OpenAPI document describes
what the routes really return. Parts whose keys depend on the data (per-feature statistics,
metrics by name) are typed as mappings.
"""

from __future__ import annotations

import keyword
import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, create_model
from pydantic.types import AllowInfNan, Strict

if TYPE_CHECKING:
    from riskwatch.schema import DataSchema


class _Open(BaseModel):
    """A response whose nested parts may carry more keys than listed."""

    model_config = ConfigDict(extra="allow")


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
    at_risk: bool = Field(description="risk >= the model's decision threshold.")
    rank: int = Field(description="1 = highest risk in this request.")
    factors: list[Factor]
    unseen: list[str] = Field(
        default_factory=list,
        description="Categorical columns whose value the model never saw in training "
        "(scored as its unknown bucket).",
    )


class PredictionResponse(BaseModel):
    """Risk scores for the clients of a request."""

    model_version: int
    threshold: float
    predictions: list[Prediction]


class PredictionRequest(BaseModel):
    """The body of ``POST /prediction``: client records with the served champion's columns.

    Each record is validated against the champion being served (see the ``ClientRecord`` schema,
    which follows the champion).
    """

    model_config = ConfigDict(extra="forbid")
    records: list[dict[str, Any]] = Field(..., min_length=1)


class Serving(BaseModel):
    """Which model answers, and whether it is the registry's champion."""

    serving_version: int | None = Field(description="The model version that scores requests.")
    champion_version: int | None = Field(description="The registry's champion.")
    current: bool = Field(description="True when the server serves the champion.")
    reason: str | None = Field(
        default=None, description="Why it does not (a refused artifact, the next retry)."
    )


class Health(Serving):
    """Liveness, and the model being served ("degraded" when it is not the champion)."""

    status: str
    version: str


class Ready(Serving):
    """Readiness: the champion is loaded, verified and served (503 otherwise, with the reason)."""

    ready: bool
    model_version: int | None = None


class Scoring(_Open):
    """The champion's metrics on its own evaluation set."""

    model_version: int | None
    eval_set: str | None = None
    primary_metric: str | None = None
    metrics: dict[str, Any] | None = None
    note: str | None = None


class StoredResult(_Open):
    """A stored diagnostic: kind, when, for which dataset version, and the data."""

    kind: str
    created_at: str
    dataset_version: int | None = None
    data: Any = None


class SummaryStats(BaseModel):
    """Summary statistics and missing data of the current dataset."""

    summary: StoredResult | None
    missing: StoredResult | None


class Diagnostics(BaseModel):
    """Step timings, dependency status and the last run."""

    timings: StoredResult | None
    dependencies: StoredResult | None
    last_run: dict[str, Any] | None


class Client(_Open):
    """One client of the call list."""

    rank: int
    id: str | None
    risk: float
    at_risk: bool = False
    value: float | None = None
    value_at_risk: float | None = None
    snapshot: str | None = None
    factors: list[Factor]


class Risk(BaseModel):
    """The ranked call list of current clients."""

    model_version: int | None
    dataset_version: int | None = None
    threshold: float | None = None
    at_risk: int = Field(0, description="Clients at or above the threshold.")
    total: int = 0
    clients: list[Client]
    note: str | None = None


class ModelVersion(BaseModel):
    """One registered model version."""

    version: int
    created_at: str
    dataset_version: int | None
    kind: str
    aliases: list[str]
    eval_set: str | None
    why: str | None
    trained_through: str | None = None
    rows: int | None = None  # labelled rows the model was fitted on
    training_sample: str | None = None  # the whole labelled data, or how it was sampled
    training_fingerprint: str | None = None
    threshold: float | None = None
    metrics: dict[str, float | None]


class Models(BaseModel):
    """Model versions and the latest alias moves."""

    models: list[ModelVersion]
    alias_history: list[dict[str, Any]]


class DriftCheckSummary(_Open):
    """One stored drift check."""

    id: int
    batch: str
    model_version: int | None
    verdict: str
    reasons: list[str]
    checked_at: str


class Drift(BaseModel):
    """The latest drift checks and the newest one in full."""

    latest: dict[str, Any] | None
    checks: list[DriftCheckSummary]


Number = Annotated[float, Strict(), AllowInfNan(False)]
"""A finite JSON number: ints are fine; ``true``, ``"12"``, ``Infinity``, ``NaN``, 1e309 are not."""
ID_MAX = 1000


def _client_id(value: Any) -> str | int | None:
    """A client id: text (at most ``ID_MAX`` characters) or an integer, never true/false."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        if len(value) > ID_MAX:
            raise ValueError(f"at most {ID_MAX} characters")
        return value
    raise ValueError("must be text or an integer")


ClientId = Annotated[
    str | int | None, PlainValidator(_client_id, json_schema_input_type=str | int | None)
]


def record_model(schema: DataSchema | None) -> type[BaseModel]:
    """A pydantic model of one client record built from the contract.

    Every feature is required (``null`` allowed: a missing value); numeric features must be
    finite numbers (:data:`Number`), categorical ones text (unknown categories are fine).
    Unknown fields are refused so that a misspelled column is caught.
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
        ClientId,
        Field(default=None, alias=schema.id_column, description="Client identifier."),
    )
    for col in schema.features:
        kind: Any = Number | None if col in schema.numeric else str | None
        fields[name_for(col)] = (kind, Field(..., alias=col))
    return create_model(
        "ClientRecord",
        __config__=ConfigDict(extra="forbid", populate_by_name=True, str_max_length=1000),
        **fields,
    )

"""Saving a fitted model as a registered version, and loading one back as a :class:`LoadedModel`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskwatch.errors import ModelError

if TYPE_CHECKING:
    from riskwatch.config import Settings
    from riskwatch.model.scoring import LoadedModel
    from riskwatch.storage.db import Database
    from riskwatch.storage.workspace import Workspace


def save_model(
    ws: Workspace,
    db: Database,
    *,
    pipeline: Any,
    schema_json: str,
    baseline: dict[str, Any],
    card: dict[str, Any],
    extra_files: dict[str, bytes] | None = None,
) -> int:
    """Register a fitted pipeline with its card; returns the new version."""
    from riskwatch.registry.card import card_markdown
    from riskwatch.storage.models import register

    payload = {"pipeline": pipeline, "schema": schema_json, "baseline": baseline}
    return register(ws, db, payload, card, card_markdown=card_markdown, extra_files=extra_files)


def load_model(settings: Settings, ws: Workspace, db: Database, version: int) -> LoadedModel:
    """Load a version after verifying its artifact's sha256.

    Raises:
        ModelError: the artifact is missing, altered, unreadable or from an older riskwatch.
    """
    from riskwatch.model.scoring import LoadedModel
    from riskwatch.schema import DataSchema
    from riskwatch.storage.models import load_artifact

    row, payload = load_artifact(ws, db, version)
    pipeline = payload.get("pipeline") if isinstance(payload, dict) else None
    if pipeline is None or "types" not in getattr(pipeline, "named_steps", {}):
        raise ModelError(
            f"{ws.root / row['artifact']}: model v{version} was saved by an older riskwatch; "
            "retrain it (`riskwatch train`)"
        )
    card = row["card"]
    return LoadedModel(
        version=version,
        pipeline=pipeline,
        schema=DataSchema.from_json(payload["schema"]),
        card=card,
        threshold=float(card.get("threshold", settings.scoring.threshold)),
        baseline=dict(payload.get("baseline") or {}),
    )

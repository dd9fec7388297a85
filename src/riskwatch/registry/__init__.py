"""The model registry: numbered versions with artifacts, metrics, cards, aliases and history."""

from riskwatch.registry.evalsets import evaluation_frame, training_frame
from riskwatch.registry.lifecycle import (
    DeployDecision,
    TrainOutcome,
    alias_history,
    champion_at,
    deploy,
    rollback,
    score_model,
    train_and_register,
)
from riskwatch.registry.store import (
    LoadedModel,
    champion_version,
    latest_metrics,
    list_models,
    load_champion,
    load_version,
)

__all__ = [
    "DeployDecision",
    "LoadedModel",
    "TrainOutcome",
    "alias_history",
    "champion_at",
    "champion_version",
    "deploy",
    "evaluation_frame",
    "latest_metrics",
    "list_models",
    "load_champion",
    "load_version",
    "rollback",
    "score_model",
    "train_and_register",
    "training_frame",
]

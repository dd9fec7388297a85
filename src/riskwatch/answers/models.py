"""Which models exist? Versions, aliases, key metrics on their own sets, and alias history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskwatch.answers.scoring import HEADLINE

if TYPE_CHECKING:
    from riskwatch.context import RunContext


def list_models(ctx: RunContext) -> list[dict[str, Any]]:
    """Every version, newest first, with its aliases and key metrics on its own evaluation set."""
    from riskwatch.storage.models import aliases_by_version, latest_metrics, model_rows

    aliases = aliases_by_version(ctx.db)
    out = []
    for row in model_rows(ctx.db):
        version = int(row["version"])
        m = latest_metrics(ctx.db, version) or {}
        out.append(
            {
                "version": version,
                "created_at": row["created_at"],
                "dataset_version": row["dataset_version"],
                "kind": row["kind"],
                "aliases": aliases.get(version, []),
                "eval_set": row["eval_set"],
                "why": (row["card"].get("selection") or {}).get("why"),
                "trained_through": row["card"].get("trained_through"),
                "rows": row["card"].get("rows"),
                "training_sample": row["card"].get("training_sample"),
                "training_fingerprint": row["card"].get("training_fingerprint"),
                "threshold": row["card"].get("threshold"),
                "metrics": {k: m.get(k) for k in HEADLINE},
            }
        )
    return out


def models(ctx: RunContext) -> dict[str, Any]:
    """Model versions with aliases and key metrics, and the latest alias moves."""
    from riskwatch.storage.models import alias_history

    return {"models": list_models(ctx), "alias_history": alias_history(ctx.db)[-20:]}

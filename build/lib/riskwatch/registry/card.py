"""The model card: what a version is, how it was made, how well it does, what it is for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

INTENDED_USE = (
    "Rank current corporate clients by their risk of leaving so client managers can "
    "decide whom to call first; the score is a calibrated probability."
)
LIMITS = (
    "Learned from past clients of this business only; not causal (factors say what the model "
    "reacts to, not why a client leaves); re-check after drift; tiny datasets give unstable models."
)


def provenance() -> dict[str, Any]:
    """Code version, git commit (when run from a checkout) and key package versions."""
    from importlib import metadata

    import riskwatch

    packages: dict[str, str | None] = {}
    for name in ("scikit-learn", "numpy", "pandas", "scipy", "joblib"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    head = Path(riskwatch.__file__).resolve().parents[2] / ".git" / "HEAD"
    commit: str | None = None
    try:
        ref = head.read_text().strip()
        commit = (head.parent / ref[5:]).read_text().strip() if ref.startswith("ref: ") else ref
    except OSError:
        pass
    return {"code_version": riskwatch.__version__, "git_commit": commit, "packages": packages}


def card_markdown(card: dict[str, Any]) -> str:
    """The model card as Markdown."""
    from riskwatch.model.metrics import REPORTED

    sel, cal = card.get("selection", {}), card.get("calibration", {})
    metrics = card.get("metrics") or {}
    lines = [
        f"# Model v{card.get('version')}: {card.get('kind')}",
        "",
        f"- trained: {card.get('created_at')} on dataset v{card.get('dataset_version')} "
        f"({card.get('rows')} rows, {card.get('positives')} positives; "
        f"fingerprint {str(card.get('dataset_fingerprint'))[:12]})",
        f"- why this model: {sel.get('why', 'configured')}",
        f"- calibration: {cal.get('method')}{' (' + cal['why'] + ')' if cal.get('why') else ''}",
        f"- evaluation set: {card.get('eval_set')}; decision threshold {card.get('threshold')}",
        f"- code: riskwatch {card.get('code_version')} ({card.get('git_commit') or 'no git commit'}); "
        + ", ".join(f"{k} {v}" for k, v in (card.get("packages") or {}).items()),
        "",
        f"## Performance on {card.get('eval_set')}",
        "",
    ]
    for key in REPORTED:
        if key in metrics:
            value = metrics[key]
            lines.append(f"- {key}: {'undefined' if value is None else f'{value:.4f}'}")
    if not metrics:
        lines.append("- not scored yet")
    for col, report in (card.get("fairness") or {}).items():
        lines += ["", f"## Groups by {col} (at threshold {report['threshold']:.4f})", ""]
        for g in report["groups"]:
            lines.append(
                f"- {g['group']}: {g['rows']} rows, selection rate {g['selection_rate']:.3f}, "
                f"recall {_num(g['recall'])}, precision {_num(g['precision'])}"
            )
        ratios = ", ".join(f"{k} {_num(v)}" for k, v in report["ratios"].items())
        lines.append(f"- lowest / highest group: {ratios}")
    for warning in card.get("warnings") or []:
        lines += ["", f"**Warning:** {warning}"]
    lines += [
        "",
        "## Intended use and limits",
        "",
        str(card.get("intended_use", INTENDED_USE)),
        "",
        str(card.get("limits", LIMITS)),
    ]
    return "\n".join(lines) + "\n"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"

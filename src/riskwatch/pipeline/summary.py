"""The text a person sees after ``riskwatch run`` (shared by the CLI and the cron fast path)."""

from __future__ import annotations

from typing import Any


def render(result: Any) -> str:
    """A run's outcome, champion, report and the top of the call list, as lines of text."""
    if result.status == "dry_run":
        return "\n".join(["dry run: a run now would", *(f"  - {line}" for line in result.plan)])
    lines = [f"run {result.run_id}: {result.outcome}"]
    if result.champion is not None:
        lines.append(f"champion: model v{result.champion}")
    if result.report:
        lines.append(f"report: {result.report}")
    else:
        background = next((s["decision"] for s in result.steps if s.get("step") == "report"), "")
        if background.startswith("writing in the background"):
            lines.append(f"report: {background}")
    if result.top:
        lines.append("top of the call list:")
        for client in result.top:
            factors = ", ".join(f.get("feature", "") for f in client.get("factors", [])[:3])
            lines.append(
                f"  {client.get('rank', ''):>3}  {client.get('id', '')}  "
                f"risk {float(client.get('risk', 0)):.2f}  {factors}"
            )
    return "\n".join(lines)

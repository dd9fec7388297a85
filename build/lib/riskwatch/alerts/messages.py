"""Messages people can act on (pure): a one-line title, then per event the key figures, what
riskwatch did and what to do, then links; and the versioned JSON payload of the webhook.

Webhook payload, version 1 (``"version": 1``; fields are only ever added within a version)::

    {"version": 1, "type": "riskwatch.alert", "id": "<uuid>", "project": "...",
     "origin": "run|watchdog|test", "sent_at": "<ISO-8601 UTC>", "status": "firing|resolved",
     "severity": "info|warning|critical", "health": "ok|attention|failing",
     "title": "...", "text": "...",
     "events": [{"event": "opened|repeat|resolved|info", "key": "kind:subject", "kind": "...",
                 "subject": "...", "severity": "...", "message": "...", "opened_at": "...",
                 "resolved_at": null, "detail": {...}, "figures": ["..."], "did": "...",
                 "todo": "..."}],
     "run": {"id": 12, "status": "ok", "outcome": "..."} | null,
     "links": {"dashboard": "...", "drift": "...", "report": "..."}}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riskwatch.alerts.conditions import RANK

if TYPE_CHECKING:
    from riskwatch.alerts.conditions import Event

PAYLOAD_VERSION = 1
_LABEL = {"opened": None, "repeat": "STILL OPEN", "resolved": "RESOLVED", "info": "INFO"}
_ORDER = {"opened": 0, "repeat": 1, "info": 2, "resolved": 3}


@dataclass
class Message:
    """One notification for one channel."""

    title: str
    text: str
    severity: str  # the highest severity among the events still open, else "resolved"
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def notify_type(self) -> str:
        """Apprise's notification type: failure, warning, success or info."""
        return {"critical": "failure", "warning": "warning", "resolved": "success"}.get(
            self.severity, "info"
        )


@dataclass(frozen=True)
class Context:
    """What every message of one evaluation shares."""

    project: str
    origin: str  # run | watchdog | test
    sent_at: str
    health: str
    base_url: str | None = None
    run: dict[str, Any] | None = None
    report: str | None = None


def label(event: Event) -> str:
    """``WARNING``, ``CRITICAL``, ``STILL OPEN``, ``RESOLVED`` or ``INFO``."""
    return _LABEL.get(event.event) or event.severity.upper()


def title(events: Sequence[Event], project: str) -> str:
    """The one-line title: the project and what happened (at most 150 characters)."""
    first = events[0]
    if all(e.event == "resolved" for e in events):
        keys = ", ".join(e.key for e in events)
        line = (
            f"[{project}] RESOLVED {first.key} (was: {first.message})"
            if len(events) == 1
            else f"[{project}] {len(events)} resolved: {keys}"
        )
    elif len(events) == 1:
        line = f"[{project}] {label(first)}: {first.message}"
    else:
        counts = {k: sum(e.event == k for e in events) for k in _ORDER}
        parts = [
            f"{n} {word}"
            for k, word in (
                ("opened", "opened"),
                ("repeat", "still open"),
                ("info", "for information"),
                ("resolved", "resolved"),
            )
            if (n := counts[k])
        ]
        line = f"[{project}] {', '.join(parts)}: {first.message}"
    return line if len(line) <= 150 else line[:149] + "…"


def compose(
    events: Sequence[Event], facts: dict[str, dict[str, Any]], ctx: Context, *, message_id: str
) -> Message:
    """The message for one channel: grouped events, the most urgent first."""
    ordered = sorted(events, key=lambda e: (_ORDER[e.event], -RANK.get(e.severity, 0), e.key))
    open_ = [e for e in ordered if e.event in ("opened", "repeat")]
    severity = (
        max((e.severity for e in open_), key=lambda s: RANK.get(s, 0))
        if open_
        else ("info" if any(e.event == "info" for e in ordered) else "resolved")
    )
    links = _links(ctx)
    head = title(ordered, ctx.project)
    lines = [f"{ctx.project} health: {ctx.health.upper()}", ""]
    for e in ordered:
        f = facts.get(e.key, {})
        lines.append(f"{label(e)}  {'was: ' if e.event == 'resolved' else ''}{e.message}")
        when = f"opened {str(e.opened_at)[:16]} UTC" if e.opened_at else ""
        if e.resolved_at:
            when += f", resolved {str(e.resolved_at)[:16]} UTC"
        lines.append(f"  key:        {e.key}" + (f" ({when})" if when else ""))
        for i, figure in enumerate(f.get("figures") or []):
            lines.append(f"  {'figures:' if i == 0 else '':<10}  {figure}")
        if f.get("did"):
            lines.append(f"  riskwatch:  {f['did']}")
        if f.get("todo"):
            lines.append(f"  to do:      {f['todo']}")
        lines.append("")
    if ctx.run:
        outcome = str(ctx.run.get("outcome") or "")
        outcome = outcome if len(outcome) <= 160 else outcome[:159] + "…"
        lines.append(f"run #{ctx.run.get('id')}: {ctx.run.get('status')}: {outcome}")
    lines += [f"{name + ':':<11}{url}" for name, url in links.items()]
    if open_:
        lines.append(f"silence:   riskwatch alerts silence {open_[0].key} --for 2d --reason '...'")
    text = "\n".join(lines).rstrip() + "\n"
    payload = {
        "version": PAYLOAD_VERSION,
        "type": "riskwatch.alert",
        "id": message_id,
        "project": ctx.project,
        "origin": ctx.origin,
        "sent_at": ctx.sent_at,
        "status": "firing" if open_ else "resolved",
        "severity": severity,
        "health": ctx.health,
        "title": head,
        "text": text,
        "events": [{**e.to_dict(), **_facts(facts.get(e.key, {}))} for e in ordered],
        "run": ctx.run,
        "links": links,
    }
    return Message(head, text, severity, payload)


def _facts(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "figures": list(f.get("figures") or []),
        "did": f.get("did", ""),
        "todo": f.get("todo", ""),
    }


def _links(ctx: Context) -> dict[str, str]:
    out = {}
    if ctx.base_url:
        base = ctx.base_url.rstrip("/")
        out["dashboard"] = f"{base}/"
        out["drift"] = f"{base}/drift"
    if ctx.report:
        out["report"] = ctx.report
    return out


def test_message(ctx: Context, channel: str, *, message_id: str) -> Message:
    """The message ``riskwatch alerts test`` sends."""
    text = (
        f"A test message from {ctx.project} to channel {channel!r}: alerts reach this channel.\n"
        f"{ctx.project} health is {ctx.health.upper()} right now.\n"
    )
    head = f"[{ctx.project}] TEST: alerts reach channel {channel}"
    payload = {
        "version": PAYLOAD_VERSION,
        "type": "riskwatch.test",
        "id": message_id,
        "project": ctx.project,
        "origin": "test",
        "sent_at": ctx.sent_at,
        "status": "test",
        "severity": "info",
        "health": ctx.health,
        "title": head,
        "text": text,
        "events": [],
        "run": None,
        "links": _links(ctx),
    }
    return Message(head, text, "info", payload)

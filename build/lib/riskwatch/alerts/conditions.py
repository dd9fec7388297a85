"""Alertmanager semantics as pure functions: health reasons vs open conditions -> what is due.

A condition opens when a reason appears, notifies each channel once, repeats at most every
``repeat_interval`` while it stays open, and sends one resolved message to every channel that was
told it opened. A silence mutes a condition's opened and repeat messages (the resolved message
still reaches channels that heard of it). Everything due for one channel in one evaluation goes
in one message (grouping).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from riskwatch.answers.health import ALERT_SEVERITY as SEVERITY

RANK = {"info": 0, "warning": 1, "critical": 2}


def alert_severity(health_severity: str) -> str:
    """``attention`` -> ``warning``, ``failing`` -> ``critical`` (already mapped: unchanged)."""
    return SEVERITY.get(health_severity, health_severity)


@dataclass(frozen=True)
class Target:
    """A channel as the planner sees it: its name and the lowest severity it wants."""

    name: str
    min_severity: str = "info"

    def wants(self, severity: str) -> bool:
        """Does this channel take events of ``severity``?"""
        return RANK.get(severity, 2) >= RANK[self.min_severity]


@dataclass
class Changes:
    """What one evaluation changes in the stored conditions."""

    opened: list[dict[str, Any]] = field(default_factory=list)  # reasons (alert severity)
    resolved: list[dict[str, Any]] = field(default_factory=list)  # conditions
    refreshed: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (id, reason)

    @property
    def any(self) -> bool:
        """Did a condition open or resolve?"""
        return bool(self.opened or self.resolved)


@dataclass(frozen=True)
class Event:
    """One line of a notification: a condition opened, still open (repeat) or resolved."""

    event: str  # opened | repeat | resolved | info
    key: str
    kind: str
    subject: str
    severity: str  # info | warning | critical
    message: str
    detail: dict[str, Any]
    opened_at: str | None = None
    resolved_at: str | None = None
    condition_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the webhook payload's ``events`` items)."""
        return {k: v for k, v in self.__dict__.items() if k != "condition_id"}


def diff(
    reasons: Iterable[dict[str, Any]],
    live: Iterable[dict[str, Any]],
    *,
    scope: frozenset[str] | None = None,
) -> Changes:
    """Compare the verdict's reasons with the open conditions (only kinds in ``scope``, if given).

    A reason whose severity changed closes the old condition and opens a new one.
    """
    current = {
        r["key"]: {**r, "severity": alert_severity(r["severity"])}
        for r in reasons
        if scope is None or r["kind"] in scope
    }
    out = Changes()
    open_by_key = {c["key"]: c for c in live if c["resolved_at"] is None}
    for key, cond in open_by_key.items():
        if scope is not None and cond["kind"] not in scope:
            continue
        reason = current.get(key)
        if reason is None or reason["severity"] != cond["severity"]:
            out.resolved.append(cond)
        elif reason["message"] != cond["message"] or reason.get("detail") != cond["detail"]:
            out.refreshed.append((cond["id"], reason))
    for key, reason in current.items():
        before = open_by_key.get(key)
        if before is None or before["severity"] != reason["severity"]:
            out.opened.append(reason)
    return out


def silenced(key: str, silences: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The active silence matching ``key`` (exact or a ``*`` pattern), if any."""
    return next((s for s in silences if fnmatchcase(key, s["pattern"])), None)


def _at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def due(
    conditions: Iterable[dict[str, Any]],
    marks: dict[tuple[int, str], dict[str, Any]],
    targets: Iterable[Target],
    silences: list[dict[str, Any]],
    *,
    now: datetime,
    repeat: timedelta,
) -> dict[str, list[Event]]:
    """Per channel, the events due now (opened, repeat, resolved), oldest condition first."""
    out: dict[str, list[Event]] = {}
    conds = list(conditions)
    for target in targets:
        events = []
        for c in conds:
            if not target.wants(c["severity"]):
                continue
            mark = marks.get((c["id"], target.name)) or {}
            retry = _at(mark.get("retry_at"))
            if retry is not None and retry > now:
                continue  # in flight elsewhere, or backing off after a failure
            told, told_at = mark.get("told"), _at(mark.get("told_at"))
            if c["resolved_at"] is None:
                if silenced(c["key"], silences):
                    continue
                if told != "opened":
                    kind = "opened"
                elif told_at is not None and told_at + repeat <= now:
                    kind = "repeat"
                else:
                    continue
            elif told == "opened":
                kind = "resolved"
            else:
                continue
            events.append(_event(kind, c))
        if events:
            out[target.name] = events
    return out


def next_due(
    condition: dict[str, Any],
    marks: dict[tuple[int, str], dict[str, Any]],
    targets: Iterable[Target],
    silences: list[dict[str, Any]],
    *,
    now: datetime,
    repeat: timedelta,
) -> datetime | None:
    """The earliest time anything about ``condition`` is due on any channel (None: nothing)."""
    times: list[datetime] = []
    hush = silenced(condition["key"], silences)
    for target in targets:
        if not target.wants(condition["severity"]):
            continue
        mark = marks.get((condition["id"], target.name)) or {}
        retry, told = _at(mark.get("retry_at")), mark.get("told")
        told_at = _at(mark.get("told_at"))
        if condition["resolved_at"] is None:
            when = now if told != "opened" or told_at is None else told_at + repeat
            when = max(when, retry) if retry else when
            if hush is not None:
                when = max(when, datetime.fromisoformat(hush["until"]))
        elif told == "opened":
            when = retry or now
        else:
            continue
        times.append(when)
    return min(times) if times else None


def _event(kind: str, c: dict[str, Any]) -> Event:
    return Event(
        event=kind,
        key=c["key"],
        kind=c["kind"],
        subject=c["subject"],
        severity=c["severity"],
        message=c["message"],
        detail=c["detail"],
        opened_at=c["opened_at"],
        resolved_at=c["resolved_at"],
        condition_id=c["id"],
    )


def retry_after(failures: int, repeat: timedelta) -> timedelta:
    """How long a channel waits before the next try after ``failures`` failed deliveries."""
    return min(timedelta(seconds=30 * 2 ** max(failures - 1, 0)), repeat, timedelta(hours=1))

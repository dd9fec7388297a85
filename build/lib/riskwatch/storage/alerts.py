"""Alert state in the metadata database: conditions, what each channel was told, notifications,
deliveries and silences (light: the cron fast path asks :func:`live_conditions` only).

A condition is one life of a health reason (key = kind:subject) from opened to resolved; a mark
says what one channel was last told about it and when, so repeats, retries and the resolved
message are per channel. ``next_due_at`` on a condition is the earliest time anything about it is
due on any channel, so "is anything due?" is one query.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskwatch.storage.db import Database

_CONDITION = (
    "id",
    "key",
    "kind",
    "subject",
    "severity",
    "message",
    "detail",
    "opened_at",
    "resolved_at",
    "next_due_at",
)


@contextmanager
def exclusive(db: Database) -> Iterator[Database]:
    """One transaction that holds the alerts lock (a run and a watchdog never plan at once)."""
    with db.transaction():
        db.execute(
            "INSERT INTO rw_meta (key, value) VALUES ('alerts_lock', '0') "
            "ON CONFLICT (key) DO NOTHING"
        )
        db.execute("UPDATE rw_meta SET value = value WHERE key = 'alerts_lock'")  # row lock
        yield db


def _condition(row: tuple[Any, ...]) -> dict[str, Any]:
    out = dict(zip(_CONDITION, row, strict=True))
    out["detail"] = json.loads(out["detail"])
    return out


def live_conditions(db: Database) -> list[dict[str, Any]]:
    """Open conditions and resolved ones with something still due (a resolved message)."""
    rows = db.execute(
        f"SELECT {', '.join(_CONDITION)} FROM alert_conditions "
        "WHERE resolved_at IS NULL OR next_due_at IS NOT NULL ORDER BY id"
    )
    return [_condition(r) for r in rows]


def conditions(db: Database, limit: int = 50) -> list[dict[str, Any]]:
    """The latest conditions, open or resolved, newest first."""
    rows = db.execute(
        f"SELECT {', '.join(_CONDITION)} FROM alert_conditions ORDER BY id DESC LIMIT :n",
        {"n": limit},
    )
    return [_condition(r) for r in rows]


def open_condition(db: Database, reason: dict[str, Any], at: str) -> int:
    """Store a newly opened condition (in the caller's transaction); returns its id."""
    db.execute(
        "INSERT INTO alert_conditions (key, kind, subject, severity, message, detail, opened_at) "
        "VALUES (:k, :kind, :s, :sev, :m, :d, :t)",
        {
            "k": reason["key"],
            "kind": reason["kind"],
            "s": reason["subject"],
            "sev": reason["severity"],
            "m": reason["message"],
            "d": json.dumps(reason.get("detail") or {}, default=str),
            "t": at,
        },
    )
    return int(db.scalar("SELECT MAX(id) FROM alert_conditions"))


def refresh_condition(db: Database, condition_id: int, message: str, detail: Any) -> None:
    """Keep an open condition's message and detail current (no notification)."""
    db.execute(
        "UPDATE alert_conditions SET message = :m, detail = :d WHERE id = :i",
        {"m": message, "d": json.dumps(detail or {}, default=str), "i": condition_id},
    )


def resolve_condition(db: Database, condition_id: int, at: str) -> None:
    """Mark a condition resolved."""
    db.execute(
        "UPDATE alert_conditions SET resolved_at = :t WHERE id = :i", {"t": at, "i": condition_id}
    )


def set_next_due(db: Database, due: dict[int, str | None]) -> None:
    """Store when something is next due per condition (None: nothing)."""
    db.executemany(
        "UPDATE alert_conditions SET next_due_at = :t WHERE id = :i",
        [{"i": i, "t": t} for i, t in due.items()],
    )


def marks(db: Database, condition_ids: list[int]) -> dict[tuple[int, str], dict[str, Any]]:
    """(condition id, channel) -> what the channel was told, when, failures and retry time."""
    if not condition_ids:
        return {}
    ids = ", ".join(str(int(i)) for i in condition_ids)
    rows = db.execute(
        "SELECT condition_id, channel, told, told_at, failures, retry_at FROM alert_marks "
        f"WHERE condition_id IN ({ids})"
    )
    return {
        (r[0], r[1]): {"told": r[2], "told_at": r[3], "failures": r[4], "retry_at": r[5]}
        for r in rows
    }


def save_mark(db: Database, condition_id: int, channel: str, mark: dict[str, Any]) -> None:
    """Insert or replace one channel's mark on a condition."""
    db.execute(
        "DELETE FROM alert_marks WHERE condition_id = :c AND channel = :ch",
        {"c": condition_id, "ch": channel},
    )
    db.execute(
        "INSERT INTO alert_marks (condition_id, channel, told, told_at, failures, retry_at) "
        "VALUES (:c, :ch, :told, :at, :f, :r)",
        {
            "c": condition_id,
            "ch": channel,
            "told": mark.get("told"),
            "at": mark.get("told_at"),
            "f": int(mark.get("failures") or 0),
            "r": mark.get("retry_at"),
        },
    )


def record_notification(
    db: Database, *, at: str, origin: str, run_id: int | None, title: str, events: list[Any]
) -> int:
    """Store one notification (the events of one evaluation); returns its id."""
    db.execute(
        "INSERT INTO alert_notifications (at, origin, run_id, title, events) "
        "VALUES (:t, :o, :r, :ti, :e)",
        {"t": at, "o": origin, "r": run_id, "ti": title, "e": json.dumps(events, default=str)},
    )
    return int(db.scalar("SELECT MAX(id) FROM alert_notifications"))


def record_delivery(db: Database, notification_id: int, result: dict[str, Any]) -> None:
    """Store the outcome of delivering a notification to one channel."""
    db.execute(
        "INSERT INTO alert_deliveries (notification_id, channel, target, status, attempts, "
        "seconds, error, events, at) VALUES (:n, :c, :t, :s, :a, :sec, :e, :ev, :at)",
        {
            "n": notification_id,
            "c": result["channel"],
            "t": result["target"],
            "s": result["status"],
            "a": result["attempts"],
            "sec": result["seconds"],
            "e": result.get("error"),
            "ev": json.dumps(result.get("events") or []),
            "at": result["at"],
        },
    )


def notifications(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    """The latest notifications, newest first, each with its deliveries."""
    out = []
    for r in db.execute(
        "SELECT id, at, origin, run_id, title, events FROM alert_notifications "
        "ORDER BY id DESC LIMIT :n",
        {"n": limit},
    ):
        deliveries = db.execute(
            "SELECT channel, target, status, attempts, seconds, error, events, at "
            "FROM alert_deliveries WHERE notification_id = :i ORDER BY id",
            {"i": r[0]},
        )
        out.append(
            {
                "id": r[0],
                "at": r[1],
                "origin": r[2],
                "run_id": r[3],
                "title": r[4],
                "events": json.loads(r[5]),
                "deliveries": [
                    {
                        "channel": d[0],
                        "target": d[1],
                        "status": d[2],
                        "attempts": d[3],
                        "seconds": d[4],
                        "error": d[5],
                        "events": json.loads(d[6]),
                        "at": d[7],
                    }
                    for d in deliveries
                ],
            }
        )
    return out


def failing_channels(db: Database, channels: list[str], streak: int) -> list[dict[str, Any]]:
    """Channels whose last ``streak`` deliveries all failed: name, last error, since when."""
    out = []
    for channel in channels:
        rows = db.execute(
            "SELECT status, error, at, target FROM alert_deliveries WHERE channel = :c "
            "ORDER BY id DESC LIMIT :n",
            {"c": channel, "n": streak},
        )
        if len(rows) == streak and all(r[0] == "failed" for r in rows):
            out.append(
                {
                    "channel": channel,
                    "target": rows[0][3],
                    "error": rows[0][1],
                    "last": rows[0][2],
                    "since": rows[-1][2],
                    "failures": streak,
                }
            )
    return out


def add_silence(
    db: Database, *, pattern: str, until: str, reason: str, by: str, at: str
) -> dict[str, Any]:
    """Record a silence (who and why); returns it."""
    db.execute(
        "INSERT INTO alert_silences (pattern, until_at, reason, created_by, created_at) "
        "VALUES (:p, :u, :r, :b, :t)",
        {"p": pattern, "u": until, "r": reason, "b": by, "t": at},
    )
    return {"pattern": pattern, "until": until, "reason": reason, "by": by, "at": at}


def silences(db: Database, *, active_at: str | None = None) -> list[dict[str, Any]]:
    """Silences (only those active at ``active_at`` when given), newest first."""
    where = "WHERE lifted_at IS NULL AND until_at > :t " if active_at else ""
    rows = db.execute(
        "SELECT id, pattern, until_at, reason, created_by, created_at, lifted_at, lifted_by "
        f"FROM alert_silences {where}ORDER BY id DESC",
        {"t": active_at} if active_at else None,
    )
    keys = ("id", "pattern", "until", "reason", "by", "at", "lifted_at", "lifted_by")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def lift_silences(db: Database, pattern: str, *, by: str, at: str) -> int:
    """End the active silences on exactly ``pattern``; returns how many."""
    with db.transaction():
        n = int(
            db.scalar(
                "SELECT COUNT(*) FROM alert_silences WHERE pattern = :p AND lifted_at IS NULL "
                "AND until_at > :t",
                {"p": pattern, "t": at},
            )
        )
        db.execute(
            "UPDATE alert_silences SET lifted_at = :t, lifted_by = :b "
            "WHERE pattern = :p AND lifted_at IS NULL AND until_at > :t",
            {"p": pattern, "t": at, "b": by},
        )
        if n:  # what the silence held back is due now; the next evaluation sorts it out
            db.execute(
                "UPDATE alert_conditions SET next_due_at = :t WHERE resolved_at IS NULL",
                {"t": at},
            )
    return n

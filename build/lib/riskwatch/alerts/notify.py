"""One evaluation: reasons -> conditions opened/resolved -> grouped messages -> delivered, recorded.

Planning happens under the alerts lock in one transaction, which also leases what is about to be
sent, so a run and the API's watchdog never send the same thing twice. Delivery happens outside
any transaction; its results are recorded in a second one.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from riskwatch.alerts import conditions as cond
from riskwatch.storage import alerts as store

if TYPE_CHECKING:
    from riskwatch.alerts.conditions import Event
    from riskwatch.config import AlertTarget
    from riskwatch.context import RunContext

log = logging.getLogger("riskwatch.alerts")


@dataclass
class Outcome:
    """What one evaluation did."""

    opened: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    notification: int | None = None

    def summary(self) -> str:
        """One line for the log."""
        sent = sum(d["status"] == "sent" for d in self.deliveries)
        failed = [f"{d['channel']}: {d['error']}" for d in self.deliveries if d["status"] != "sent"]
        return (
            f"opened {self.opened or '-'}, resolved {self.resolved or '-'}, "
            f"{sent} message(s) sent" + (f", failed: {'; '.join(failed)}" if failed else "")
        )


def iso(when: datetime) -> str:
    """Stored form of a time (UTC, microseconds: sorts as text)."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def evaluate(
    ctx: RunContext,
    verdict: dict[str, Any],
    *,
    now: datetime,
    origin: str,
    scope: frozenset[str] | None = None,
    run: dict[str, Any] | None = None,
    report: str | None = None,
    informational: list[dict[str, Any]] | None = None,
) -> Outcome:
    """Follow the verdict's reasons as conditions and send what is due on every channel."""
    settings = ctx.settings.alerts
    targets = settings.targets()
    plan = [cond.Target(t.name, t.min_severity) for t in targets]
    repeat, db, out = settings.repeat, ctx.db, Outcome()
    with store.exclusive(db):
        changes = cond.diff(verdict["reasons"], store.live_conditions(db), scope=scope)
        for c in changes.resolved:
            store.resolve_condition(db, c["id"], iso(now))
        for reason in changes.opened:
            store.open_condition(db, reason, iso(now))
        for cid, reason in changes.refreshed:
            store.refresh_condition(db, cid, reason["message"], reason.get("detail"))
        out.opened = [r["key"] for r in changes.opened]
        out.resolved = [c["key"] for c in changes.resolved]
        live = store.live_conditions(db)
        marks = store.marks(db, [c["id"] for c in live])
        silences = store.silences(db, active_at=iso(now))
        due = cond.due(live, marks, plan, silences, now=now, repeat=repeat)
        lease = iso(now + timedelta(seconds=settings.deadline_seconds + 60))
        for channel, events in due.items():
            for e in events:
                key = (e.condition_id or 0, channel)
                marks[key] = {**(marks.get(key) or {}), "retry_at": lease}
                store.save_mark(db, key[0], channel, marks[key])
        _schedule(db, live, plan, silences, now, repeat, marks)
        if not due and not informational:
            return out
    for item in informational or []:
        info = cond.Event(
            "info",
            f"{item['kind']}:{item['subject']}",
            item["kind"],
            item["subject"],
            "info",
            item["message"],
            {},
            opened_at=iso(now),
        )
        for t in plan:
            if t.wants(info.severity):
                due.setdefault(t.name, []).append(info)
    _send(ctx, due, targets, verdict, now, origin, run, report, out)
    return out


def _send(
    ctx: RunContext,
    due: dict[str, list[Event]],
    targets: list[AlertTarget],
    verdict: dict[str, Any],
    now: datetime,
    origin: str,
    run: dict[str, Any] | None,
    report: str | None,
    out: Outcome,
) -> None:
    from riskwatch.alerts.delivery import Job, deliver
    from riskwatch.alerts.facts import explain
    from riskwatch.alerts.messages import Context, compose

    settings = ctx.settings.alerts
    every = {e.key: e for events in due.values() for e in events}
    facts = {key: explain(ctx, e) for key, e in every.items()}
    context = Context(
        project=settings.project,
        origin=origin,
        sent_at=iso(now),
        health=verdict["health"],
        base_url=settings.base_url,
        run=run,
        report=report,
    )
    by_name = {t.name: t for t in targets}
    jobs = [
        Job(
            by_name[name],
            compose(events, facts, context, message_id=str(uuid.uuid4())),
            [f"{e.event} {e.key}" for e in events],
        )
        for name, events in due.items()
    ]
    started = time.monotonic()
    results = deliver(jobs, deadline=settings.deadline_seconds, retries=settings.retries)
    out.deliveries = results
    done = now + timedelta(seconds=time.monotonic() - started)  # on the evaluation's clock
    db = ctx.db
    with store.exclusive(db):
        summary = [{"event": e.event, "key": e.key, "severity": e.severity} for e in every.values()]
        out.notification = store.record_notification(
            db,
            at=iso(now),
            origin=origin,
            run_id=run.get("id") if run else None,
            title=jobs[0].message.title if len(jobs) == 1 else _common_title(jobs),
            events=summary,
        )
        live = store.live_conditions(db)
        marks = store.marks(db, [c["id"] for c in live])
        for job, result in zip(jobs, results, strict=True):
            store.record_delivery(db, out.notification, result)
            for e in due[job.target.name]:
                if e.condition_id is None:
                    continue
                mark = dict(marks.get((e.condition_id, job.target.name)) or {})
                if result["status"] == "sent":
                    told = "resolved" if e.event == "resolved" else "opened"
                    mark.update(told=told, told_at=iso(done), failures=0, retry_at=None)
                else:
                    failures = int(mark.get("failures") or 0) + 1
                    wait = cond.retry_after(failures, settings.repeat)
                    mark.update(failures=failures, retry_at=iso(done + wait))
                store.save_mark(db, e.condition_id, job.target.name, mark)
                marks[(e.condition_id, job.target.name)] = mark
        silences = store.silences(db, active_at=iso(done))
        plan = [cond.Target(t.name, t.min_severity) for t in targets]
        _schedule(db, live, plan, silences, done, settings.repeat, marks)


def _schedule(
    db: Any,
    live: list[dict[str, Any]],
    plan: list[cond.Target],
    silences: list[dict[str, Any]],
    now: datetime,
    repeat: timedelta,
    marks: dict[tuple[int, str], dict[str, Any]] | None = None,
) -> None:
    """Store when each live condition next needs attention (the fast path's one query)."""
    if marks is None:
        marks = store.marks(db, [c["id"] for c in live])
    store.set_next_due(
        db,
        {
            c["id"]: (
                None
                if (when := cond.next_due(c, marks, plan, silences, now=now, repeat=repeat)) is None
                else iso(when)
            )
            for c in live
        },
    )


def _common_title(jobs: list[Any]) -> str:
    titles = list(dict.fromkeys(j.message.title for j in jobs))
    return titles[0] if len(titles) == 1 else f"{titles[0]} (+{len(titles) - 1} channel variants)"


def send_test(ctx: RunContext, verdict: dict[str, Any]) -> list[dict[str, Any]]:
    """``riskwatch alerts test``: a test message to every channel; results recorded and returned."""
    from riskwatch.alerts.delivery import Job, deliver
    from riskwatch.alerts.messages import Context, test_message

    settings = ctx.settings.alerts
    now = datetime.now(UTC)
    context = Context(settings.project, "test", iso(now), verdict["health"], settings.base_url)
    jobs = [
        Job(t, test_message(context, t.name, message_id=str(uuid.uuid4())), ["test"])
        for t in settings.targets()
    ]
    results = deliver(jobs, deadline=settings.deadline_seconds, retries=settings.retries)
    with store.exclusive(ctx.db):
        nid = store.record_notification(
            ctx.db, at=iso(now), origin="test", run_id=None, title=jobs[0].message.title, events=[]
        )
        for result in results:
            store.record_delivery(ctx.db, nid, result)
    return results

"""Delivery that never hurts the run: every channel in parallel, each within one deadline,
retried with backoff inside it, and a result per channel to record.

A channel that does not answer is abandoned at the deadline (its daemon thread dies with the
process), so the caller waits at most ``deadline`` plus a fraction of a second.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from riskwatch.alerts.messages import Message
    from riskwatch.config import AlertTarget

FIRST_BACKOFF = 0.5


@dataclass
class Job:
    """One message for one channel."""

    target: AlertTarget
    message: Message
    keys: list[str]  # the events in the message, as ``event key`` strings

    def result(
        self, status: str, attempts: int, seconds: float, error: str | None
    ) -> dict[str, Any]:
        """What is recorded for this delivery."""
        return {
            "channel": self.target.name,
            "target": self.target.shown,
            "status": status,
            "attempts": attempts,
            "seconds": round(seconds, 3),
            "error": error,
            "events": self.keys,
            "at": datetime.now(UTC).isoformat(timespec="microseconds"),
        }


def deliver(
    jobs: list[Job],
    *,
    deadline: float,
    retries: int,
    send: Callable[[AlertTarget, Message, float], None] | None = None,
) -> list[dict[str, Any]]:
    """Send every job at once; returns one result per job, in order, after at most ``deadline``."""
    if send is None:
        from riskwatch.alerts.channels import send as send_channel

        send = send_channel
    started = time.monotonic()
    until = started + deadline
    results: list[dict[str, Any] | None] = [None] * len(jobs)
    progress: list[list[Any]] = [[0, ""] for _ in jobs]  # attempts, last error, as they go

    def work(i: int, job: Job) -> None:
        results[i] = _attempts(job, send, until, retries, progress[i], started)

    threads = [
        threading.Thread(target=work, args=(i, job), daemon=True, name=f"alert-{job.target.name}")
        for i, job in enumerate(jobs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(until - time.monotonic(), 0) + 0.2)
    out = []
    for i, job in enumerate(jobs):
        done = results[i]
        if done is None:  # still hanging: leave it behind
            attempts, last = int(progress[i][0]), str(progress[i][1])
            why = f"no answer within the {deadline:g} s deadline"
            done = job.result(
                "failed",
                attempts or 1,
                time.monotonic() - started,
                why + (f" ({last})" if last else ""),
            )
        out.append(done)
    return out


def _attempts(
    job: Job,
    send: Callable[[AlertTarget, Message, float], None],
    until: float,
    retries: int,
    progress: list[Any],
    started: float,
) -> dict[str, Any]:
    from riskwatch.alerts.channels import DeliveryError

    attempts, error, backoff = 0, "", FIRST_BACKOFF
    while attempts <= retries:
        remaining = until - time.monotonic()
        if remaining <= 0.05:
            error = error or "the deadline passed before the first attempt"
            break
        attempts += 1
        progress[0] = attempts
        try:
            send(job.target, job.message, remaining)
            return job.result("sent", attempts, time.monotonic() - started, None)
        except DeliveryError as exc:
            error = str(exc)
            progress[1] = error
            if not exc.retry:
                break
        except Exception as exc:  # a bug in a plugin must not escape into the run
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
            progress[1] = error
        pause = min(backoff, until - time.monotonic() - 0.1)
        if attempts > retries or pause <= 0:
            break
        time.sleep(pause)
        backoff *= 2
    return job.result("failed", max(attempts, 1), time.monotonic() - started, error)

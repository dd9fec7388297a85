"""Measuring for bench/peers.py: whole processes, interleaved series, a busy core.

``measure`` times one whole process the way ``bench/_results.run_timed`` does (wall time from
``Popen`` to ``os.wait4``, the child's peak RSS from the same ``wait4``) and adds what a
side-by-side run needs: a timeout that kills the whole process group, stderr to a file (a peer
that logs a lot cannot fill a pipe and stall), and the exit codes a case accepts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class Failed(RuntimeError):
    """A measured process failed or timed out; the message says which and why."""


class TimedOut(Failed):
    """Killed at the timeout: its wall time is a lower bound."""

    def __init__(self, message: str, wall: float, peak_mb: float) -> None:
        super().__init__(message)
        self.wall, self.peak_mb = wall, peak_mb


def loadavg() -> str:
    """The 1/5/15-minute load averages and running/total tasks, as /proc/loadavg has them."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:4])
    except OSError:
        return "n/a"


def busiest(n: int = 4) -> str:
    """CPU use by program name (``ps``: average over each process's life), the ``n`` largest."""
    try:
        out = subprocess.run(
            ["ps", "-eo", "pcpu,comm", "--sort=-pcpu", "--no-headers"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "n/a"
    use: dict[str, list[float]] = {}
    for line in out:
        parts = line.split(None, 1)
        if len(parts) == 2:
            use.setdefault(parts[1].strip(), []).append(float(parts[0]))
    top = sorted(use.items(), key=lambda kv: -sum(kv[1]))[:n]
    return ", ".join(f"{name} {sum(v):.0f}% ({len(v)} proc.)" for name, v in top)


def measure(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float | None = None,
    ok: tuple[int, ...] = (0,),
) -> tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak RSS in MB). Raises :class:`Failed`."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,  # its own process group: a timeout kills its children too
        )
        fired = threading.Event()

        def kill() -> None:
            fired.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if fired.is_set():
            raise TimedOut(f"timed out after {timeout:.0f} s", wall, usage.ru_maxrss / 1024)
        if code not in ok:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip()[-400:]
            raise Failed(f"exit {code}: {tail}")
    return wall, usage.ru_maxrss / 1024


@dataclass
class Series:
    """Repeated whole-process measurements of one column of one row."""

    command: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failure: str | None = None
    lower_bound: bool = False  # the last run was killed at the timeout

    @property
    def ok(self) -> bool:
        return bool(self.seconds) and (self.failure is None or self.lower_bound)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.peak_mb)

    def cell(self, memory: bool = False) -> str:
        if not self.seconds:
            return f"failed: {self.failure}" if self.failure else ""
        text = f"{self.median:.3f} s" if self.median < 10 else f"{self.median:.1f} s"
        if self.lower_bound:
            text = ">= " + text
        if memory:
            text += f", {self.peak:.0f} MB"
        if self.failure:
            text += f" ({len(self.seconds)} runs, then {self.failure})"
        return text


@dataclass
class Latency:
    """p50/p99 of sequential requests, one (p50, p99) pair per interleaved run."""

    command: str
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    requests: int = 0
    notes: list[str] = field(default_factory=list)
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.p99) and self.failure is None

    @property
    def median(self) -> float:  # the figure ratios use: p99
        return statistics.median(self.p99)

    @property
    def median_p50(self) -> float:
        return statistics.median(self.p50)

    def cell(self, memory: bool = False) -> str:
        if not self.p99:
            return f"failed: {self.failure}" if self.failure else ""
        return f"p50 {self.median_p50:.1f} / p99 {self.median:.1f} ms"


Prepare = Callable[[int], tuple[list[str], dict[str, str] | None, Path | None]]


def fixed(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Prepare:
    """The same command for every run."""
    return lambda i: (cmd, env, cwd)


@dataclass
class Case:
    """One column of a row: how to set up run ``i`` (untimed) and what to check after it."""

    name: str
    series: Series
    prepare: Prepare
    after: Callable[[int], str | None] | None = None
    ok_codes: tuple[int, ...] = (0,)
    cleanup: Callable[[int], None] | None = None  # always called after run i, even on failure


def interleave(cases: list[Case], runs: int, timeout: float, say: Callable[[str], None]) -> None:
    """Run ``cases`` round-robin ``runs`` times (A, P1, P2, A, P1, P2, ...); a failure ends its case."""
    for i in range(runs):
        parts = []
        for case in cases:
            if case.series.failure:
                continue
            try:
                cmd, env, cwd = case.prepare(i)
                s, mb = measure(cmd, env=env, cwd=cwd, timeout=timeout, ok=case.ok_codes)
            except TimedOut as exc:
                case.series.seconds.append(exc.wall)
                case.series.peak_mb.append(exc.peak_mb)
                case.series.failure, case.series.lower_bound = str(exc), True
                parts.append(f"{case.name} {exc}")
                continue
            except (Failed, OSError, RuntimeError) as exc:
                case.series.failure = " ".join(str(exc).split())[:300] or repr(exc)
                parts.append(f"{case.name} FAILED ({case.series.failure})")
                continue
            finally:
                if case.cleanup:
                    case.cleanup(i)
            case.series.seconds.append(s)
            case.series.peak_mb.append(mb)
            note = case.after(i) if case.after else None
            if note and note not in case.series.notes:
                case.series.notes.append(note)
            parts.append(f"{case.name} {s:.3f} s {mb:.0f} MB")
        say(f"    run {i + 1}/{runs}: " + ", ".join(parts))


class BusyCore:
    """A busy-loop process (another user's job on the other core), optionally pinned to a CPU."""

    def __init__(self, pin: int | None = None) -> None:
        self.pin = pin
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BusyCore:
        if self.proc is not None and self.proc.poll() is None:
            return self  # already spinning
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        if self.pin is not None:
            os.sched_setaffinity(self.proc.pid, {self.pin})
        time.sleep(0.5)  # let it take its core
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

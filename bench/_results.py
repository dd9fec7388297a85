"""Shared helpers for the benchmark scripts: machine description, timed runs, RESULTS.md sections.

Each script owns one section of ``bench/RESULTS.md`` (between ``<!-- name -->`` and
``<!-- /name -->``) and rewrites only that section, atomically.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    """One line describing this machine and interpreter."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){mem}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


@dataclass
class Timing:
    """Medians of several runs of one command."""

    label: str
    command: str
    seconds: list[float]
    peak_mb: list[float]

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_mb_max(self) -> float:
        return max(self.peak_mb)


def run_timed(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None
) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS of the child in MB). Fails loudly on error."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code not in (0, 1):  # 1 = "nothing new" for some commands
        raise SystemExit(f"bench: {' '.join(cmd)} failed with {code}: {err.strip()[-500:]}")
    return wall, usage.ru_maxrss / 1024


def table(rows: Sequence[Timing]) -> str:
    """A Markdown table of timings."""
    out = ["| case | median s | runs | peak MB | command |", "|---|---:|---:|---:|---|"]
    for r in rows:
        out.append(
            f"| {r.label} | {r.median_s:.3f} | {len(r.seconds)} | {r.peak_mb_max:.0f} | `{r.command}` |"
        )
    return "\n".join(out)


def write_section(name: str, body: str) -> None:
    """Replace (or append) the ``name`` section of RESULTS.md, atomically."""
    text = (
        RESULTS.read_text()
        if RESULTS.exists()
        else "# Benchmark results\n\nWritten by the scripts in bench/; rerun them to refresh.\n"
    )
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, RESULTS)


def header(title: str, command: str) -> str:
    """Section header: title, machine, command and date."""
    return f"## {title}\n\nMachine: {machine()}  \nCommand: `{command}`  \nDate: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"


PYTHON = sys.executable

# a project on the demo population fed by a drop folder (bench/run.py, bench/api.py)
DEMO_PROJECT = """[workspace]
path = "ws"
[contract]
id_column = "corporation"
target_column = "exited"
positive_label = 1
snapshot_column = "snapshot_date"
value_column = "contract_value"
dedupe = "latest"
[sources.drop]
kind = "folder"
path = "incoming"
settle_seconds = 0  # the data is copied in just before each timed command
"""

# the course setup (examples/course.toml) on a drop folder "in"; format with evaluation=PATH
COURSE_CONFIG = """# like examples/course.toml, in a temporary folder
[workspace]
path = "ws"
[contract]
id_column = "corporation"
target_column = "exited"
positive_label = 1
dedupe = "identical"
[sources.practice]
kind = "folder"
path = "in"
# the bench writes each file completely before the timed command starts, so the settle wait a
# live drop folder gives a file changed in the last 3 s (the default) is not part of the work
settle_seconds = 0
[evaluation]
path = "{evaluation}"
[training]
model = "course"
calibration = "none"
[scoring]
primary_metric = "f1"
"""

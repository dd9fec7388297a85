"""Rows 1 and 2 of the issue's table (the cron step, a whole run) and what every row returns.

Whole processes, interleaved (A, P1, P2, floor, A, ...). Each row function returns one or more
:class:`Row` results; ``bench/peers.py`` formats them. Rows 3-5: peer_batch_rows.py; 6, 7, 9:
peer_serve_rows.py; 8, 10: peer_monitor_rows.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import peer_env as pe
import peer_projects as pp
from peer_bench import Bench
from peer_measure import Case, Latency, Series, interleave

HERE = Path(__file__).parent


@dataclass
class Row:
    """One line of the table: a median per column, the goal in the same unit, notes."""

    key: str
    work: str
    cols: Mapping[str, Series | Latency]
    goal: float | None
    goal_text: str
    unit: str = "s"
    memory: bool = False
    mem_goal: float | None = None
    p50_goal: float | None = None
    sized: bool = False  # the goal is for the full size: not compared at another --scale
    notes: list[str] = field(default_factory=list)
    runs: int = 0
    load: str = ""


def peer_names(b: Bench) -> list[str]:
    return [name for name in ("P1", "P2") if name in b.peers]


def _state(folder: Path) -> tuple[int | None, int | None]:
    """(ctime of the trained pickle, ctime of the deployed pickle): what a peer run rewrote."""
    out = []
    for path in (pe.model_folder(folder) / "trainedmodel.pkl", pe.deployed_model(folder)):
        out.append(path.stat().st_ctime_ns if path.exists() else None)
    return out[0], out[1]


def _effect(before: tuple[int | None, int | None], after: tuple[int | None, int | None]) -> str:
    retrained, redeployed = before[0] != after[0], before[1] != after[1]
    if redeployed:
        return "retrained and redeployed" if retrained else "redeployed"
    return "retrained, model kept" if retrained else "no retrain, model kept"


def peer_case(b: Bench, name: str, folder: Path, command: list[str], shown: str) -> Case:
    """A peer command run in ``folder``; the note says whether it retrained or redeployed."""
    seen: dict[int, tuple[int | None, int | None]] = {}

    def prepare(i: int) -> tuple[list[str], dict[str, str], Path]:
        seen[i] = _state(folder)
        return [str(b.peer_python), *command], b.peer_env, folder

    def after(i: int) -> str:
        return _effect(seen[i], _state(folder))

    return Case(name, Series(shown), prepare, after)


def row_1(b: Bench) -> list[Row]:
    """Cron tick, nothing new: riskwatch's cron command vs each peer's cron step (fullprocess.py)."""
    config = b.course_rw()
    cases = [
        Case(
            "riskwatch",
            Series("python -m riskwatch --config riskwatch.toml run --cron"),
            lambda i: (pp.rw(config, "run", "--cron"), pp.rw_env(), config.parent),
            lambda i: f"outcome: {pp.last_outcome(config)}",
        )
    ]
    for name in peer_names(b):
        cases.append(
            peer_case(b, name, b.course_peer(name), ["fullprocess.py"], "python fullprocess.py")
        )
    cases.append(
        Case("floor", Series("python -c pass"), lambda i: ([pp.PYTHON, "-c", "pass"], None, None))
    )
    interleave(cases, b.runs, b.timeout, b.say)
    cols = {c.name: c.series for c in cases}
    notes = ["course practice data ingested and a model deployed before the ticks (untimed)"]
    if "P1" in cols:
        notes.append(
            "P1 never sees 'nothing new': its ingestedfiles.txt stores full paths and fullprocess.py compares "
            "them with bare file names, so every tick re-ingests, retrains and rescores"
        )
    return [Row("1", "cron tick, nothing new", cols, 0.15, "<= 0.15 s", notes=notes, runs=b.runs)]


def row_2(b: Bench) -> list[Row]:
    """One new course CSV, whole run; and riskwatch on one more month of the demo, no retrain."""
    new_csv = b.course_files("sourcedata")[0]
    work = b.root / "row2"
    base = b.course_rw()

    def rw_prepare(i: int) -> tuple[list[str], dict[str, str], Path]:
        dest = work / f"rw-{i}"
        shutil.copytree(base.parent, dest)
        pe.link(new_csv, dest / "in" / new_csv.name)
        return pp.rw(dest / "riskwatch.toml", "run"), pp.rw_env(), dest

    def rw_after(i: int) -> str:
        dest = work / f"rw-{i}"
        outcome = pp.last_outcome(dest / "riskwatch.toml")
        shutil.rmtree(dest)
        return f"outcome: {outcome}"

    cases = [
        Case(
            "riskwatch", Series("python -m riskwatch run (course.toml-like)"), rw_prepare, rw_after
        )
    ]
    for name in peer_names(b):
        cases.append(_new_file_case(b, name, work, new_csv))
    interleave(cases, b.runs, b.timeout, b.say)
    rows = [
        Row(
            "2",
            f"one new course CSV ({new_csv.name}), whole run",
            {c.name: c.series for c in cases},
            2.0,
            "<= 2 s",
            notes=[
                "fresh copy of the prepared project per run (untimed); the notes say what each run decided",
                "riskwatch also writes diagnostics and a report (HTML, PDF) in a child process after its "
                "decisions (`[report] background = true`); the bench waits for that child, untimed, so "
                "it never overlaps the next measured process; the peers write no report on this path",
            ],
            runs=b.runs,
        )
    ]
    config, month = b.demo_gbm()

    def demo_prepare(i: int) -> tuple[list[str], dict[str, str], Path]:
        dest = work / f"demo-{i}"
        shutil.copytree(config.parent, dest)
        month.to_csv(dest / "incoming" / "month-04.csv", index=False)
        return pp.rw(dest / "riskwatch.toml", "run"), pp.rw_env(), dest

    def demo_after(i: int) -> str:
        dest = work / f"demo-{i}"
        outcome = pp.last_outcome(dest / "riskwatch.toml")
        shutil.rmtree(dest)
        return f"outcome: {outcome}"

    demo = Case(
        "riskwatch", Series("python -m riskwatch run (demo, 4th month)"), demo_prepare, demo_after
    )
    interleave([demo], b.runs, b.timeout, b.say)
    rows.append(
        Row(
            "2b",
            f"one more month of {b.sizes.demo_clients:,} demo clients, whole run (no retrain expected)",
            {"riskwatch": demo.series},
            4.0,
            "<= 4 s at 10,000 clients",
            sized=True,
            notes=[
                "3 months and a gradient-boosting champion before; peers cannot read the demo schema (P2 trains on every non-id column, text included)"
            ],
            runs=b.runs,
        )
    )
    return rows


def _new_file_case(b: Bench, name: str, work: Path, new_csv: Path) -> Case:
    base = b.course_peer(name)
    seen: dict[int, tuple[int | None, int | None]] = {}

    def prepare(i: int) -> tuple[list[str], dict[str, str], Path]:
        dest = work / f"{name}-{i}"
        shutil.copytree(base, dest)
        pe.link(new_csv, dest / "in" / new_csv.name)
        seen[i] = _state(dest)
        return [str(b.peer_python), "fullprocess.py"], b.peer_env, dest

    def after(i: int) -> str:
        dest = work / f"{name}-{i}"
        note = _effect(seen[i], _state(dest))
        shutil.rmtree(dest)
        return note

    return Case(name, Series("python fullprocess.py"), prepare, after)

"""Rows 1-5, 8 and 10 of the issue's table: whole processes, interleaved (A, P1, P2, floor, A, ...).

Each function returns one or more :class:`Row` results; ``bench/peers.py`` formats them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import peer_env as pe
import peer_projects as pp
from peer_bench import Bench
from peer_measure import BusyCore, Case, Latency, Series, fixed, interleave

HERE = Path(__file__).parent
PREDICT = "import diagnostics; diagnostics.model_predictions()"


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


def _peers(b: Bench) -> list[str]:
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


def _peer_case(b: Bench, name: str, folder: Path, command: list[str], shown: str) -> Case:
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
    for name in _peers(b):
        cases.append(
            _peer_case(b, name, b.course_peer(name), ["fullprocess.py"], "python fullprocess.py")
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
    for name in _peers(b):
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
                "fresh copy of the prepared project per run (untimed); the notes say what each run decided"
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


def row_3(b: Bench) -> list[Row]:
    """Ingest the big course CSV (3% duplicates): riskwatch ingest, each peer's ingestion.py, pandas."""
    rows = []
    for key, size, with_peers in (
        ("3", b.sizes.course_rows, True),
        ("3b", b.sizes.course_rows_10m, False),
    ):
        data = (
            b.big_csv()
            if size == b.sizes.course_rows
            else pp.course_csv(b.root / "data" / f"course-{size}.csv", size, seed=3)
        )
        runs = b.runs if with_peers else max(2, min(b.runs, 3))
        work = b.root / f"row{key}"
        folder = work / "floor-in"
        pe.link(data, folder / "clients.csv")

        def prepare(
            i: int, data: Path = data, work: Path = work
        ) -> tuple[list[str], dict[str, str], Path]:
            dest = work / f"rw-{i}"
            config = pp.course_project(dest, [], b.course_data / "testdata", run=False)
            pe.link(data, dest / "in" / "clients.csv")
            return pp.rw(config, "ingest"), pp.rw_env(), dest

        def after(i: int, work: Path = work) -> None:
            shutil.rmtree(work / f"rw-{i}")

        cases = [Case("riskwatch", Series("python -m riskwatch ingest"), prepare, after)]
        if with_peers:
            for name in _peers(b):
                peer = pe.peer_dir(b.peers[name], work / name)
                pe.link(data, peer / "in" / "clients.csv")
                cases.append(_peer_case(b, name, peer, ["ingestion.py"], "python ingestion.py"))
        floor = [pp.PYTHON, str(HERE / "pandas_floor.py"), str(folder), str(work / "floor.csv")]
        cases.append(
            Case(
                "floor",
                Series("pandas read_csv + drop_duplicates + to_csv"),
                fixed(floor),
            )
        )
        b.say(f"  {size:,} rows")
        interleave(cases, runs, b.timeout, b.say)
        for c in cases:
            c.series.notes.clear()
        goal, mem = (1.2, 300.0) if with_peers else (12.0, 1024.0)
        rows.append(
            Row(
                key,
                f"ingest {size:,} rows (course schema, 3% dup.)",
                {c.name: c.series for c in cases},
                goal,
                f"<= {goal:g} s, <= {mem:.0f} MB at full size",
                memory=True,
                sized=True,
                mem_goal=mem,
                notes=["floor = bench/peers/pandas_floor.py in riskwatch's environment"],
                runs=runs,
            )
        )
        shutil.rmtree(work)
    return rows


def row_4(b: Bench) -> list[Row]:
    """Train on the big course data: riskwatch train (course preset) vs each peer's training.py."""
    base = b.big_rw(deployed=False)
    work = b.root / "row4"

    def prepare(i: int) -> tuple[list[str], dict[str, str], Path]:
        dest = work / f"rw-{i}"
        shutil.copytree(base.parent, dest)
        return pp.rw(dest / "riskwatch.toml", "train"), pp.rw_env(), dest

    def after(i: int) -> None:
        shutil.rmtree(work / f"rw-{i}")

    cases = [
        Case(
            "riskwatch",
            Series('python -m riskwatch train ([training] model = "course")'),
            prepare,
            after,
        )
    ]
    for name in _peers(b):
        cases.append(
            _peer_case(
                b, name, b.big_peer(name, trained=False), ["training.py"], "python training.py"
            )
        )
    interleave(cases, b.runs, b.timeout, b.say)
    for c in cases:
        c.series.notes.clear()
    cols: dict[str, Series | Latency] = {c.name: c.series for c in cases}
    peer_times = [s.median for n, s in cols.items() if n != "riskwatch" and s.ok]
    return [
        Row(
            "4",
            f"train {b.sizes.course_rows:,} rows (course preset)",
            cols,
            min(peer_times) if peer_times else None,
            "faster than both peers",
            memory=True,
            notes=[
                "riskwatch: ingested project copied per run; trains, scores on the course testdata, registers",
                "peers: their training.py on their ingestion's finaldata.csv (P1 lbfgs on all rows; P2 liblinear on an 80% split)",
            ],
            runs=b.runs,
        )
    ]


def row_5(b: Bench) -> list[Row]:
    """Batch predict: riskwatch predict vs each peer's prediction function on the same file."""
    config = b.big_rw(deployed=True)
    data = b.big_csv()
    out = b.root / "row5-scores.csv"
    cases = [
        Case(
            "riskwatch",
            Series("python -m riskwatch predict -i clients.csv -o scores.csv"),
            lambda i: (
                pp.rw(config, "predict", "-i", str(data), "-o", str(out)),
                pp.rw_env(),
                config.parent,
            ),
        )
    ]
    for name in _peers(b):
        folder = b.big_peer(name, trained=True)
        cases.append(_peer_case(b, name, folder, ["-c", PREDICT], f'python -c "{PREDICT}"'))
    interleave(cases, b.runs, b.timeout, b.say)
    for c in cases[1:]:
        c.series.notes.clear()
    rows = [
        Row(
            "5",
            f"batch predict {b.sizes.course_rows:,} clients (course model)",
            {c.name: c.series for c in cases},
            1.2,
            "<= 1.2 s at full size",
            memory=True,
            sized=True,
            notes=[
                "peers have no batch-predict command: their closest equivalent is diagnostics.model_predictions() "
                "(what their /prediction endpoint calls): load the deployed pickle, read testdata/testdata.csv, "
                "predict, return a list; nothing is written. riskwatch writes id, risk and rank to a CSV",
            ],
            runs=b.runs,
        )
    ]
    gbm, _ = b.demo_gbm()
    demo = b.demo_current(b.sizes.course_rows)
    gout = b.root / "row5-gbm.csv"
    case = Case(
        "riskwatch",
        Series("python -m riskwatch predict (gradient boosting)"),
        lambda i: (
            pp.rw(gbm, "predict", "-i", str(demo), "-o", str(gout)),
            pp.rw_env(),
            gbm.parent,
        ),
    )
    interleave([case], b.runs, b.timeout, b.say)
    rows.append(
        Row(
            "5b",
            f"batch predict {b.sizes.course_rows:,} demo clients (gradient boosting)",
            {"riskwatch": case.series},
            3.0,
            "<= 3 s at full size",
            memory=True,
            sized=True,
            runs=b.runs,
        )
    )
    return rows


def row_8(b: Bench) -> list[Row]:
    """riskwatch drift -i vs Evidently's DataDriftPreset on the same reference and current frames."""
    config, _ = b.demo_gbm()
    reference = b.reference_csv()
    script = HERE / "evidently_drift.py"
    rows = []
    for letter, size in zip("abc", b.sizes.drift_sizes, strict=True):
        last = size == b.sizes.drift_sizes[-1]
        current = b.demo_current(size)
        cases = [
            Case(
                "riskwatch",
                Series("python -m riskwatch drift -i batch.csv"),
                fixed(pp.rw(config, "drift", "-i", str(current)), pp.rw_env(), config.parent),
            ),
        ]
        if b.venv is not None:
            env = {**b.peer_env, "DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}
            cases.append(
                Case(
                    "floor",
                    Series("python evidently_drift.py reference.csv batch.csv"),
                    fixed([str(b.peer_python), str(script), str(reference), str(current)], env),
                )
            )
        b.say(f"  {size:,} rows")
        interleave(cases, b.runs, b.timeout, b.say)
        cols: dict[str, Series | Latency] = {c.name: c.series for c in cases}
        ev = cols.get("floor")
        rows.append(
            Row(
                f"8{letter}",
                f"`riskwatch drift -i` {size:,} rows vs the reference",
                cols,
                ev.median / 5 if ev is not None and ev.ok else None,
                ">= 5x faster than Evidently" + (", <= 400 MB at 1M rows" if last else ""),
                memory=True,
                mem_goal=400.0 if last and b.sizes.scale == 1 else None,
                notes=[
                    f"reference = the champion's training rows ({_lines(reference):,} rows, its features), exported "
                    "once; floor = Evidently DataDriftPreset (peers' venv) on the same two frames, whole process",
                ],
                runs=b.runs,
            )
        )
    return rows


def _lines(path: Path) -> int:
    with path.open("rb") as f:
        return max(0, sum(1 for _ in f) - 1)


def row_10(b: Bench) -> list[Row]:
    """riskwatch train with gradient boosting, the other core idle vs busy (a busy-loop process)."""

    def make() -> Path:
        dest = b.root / "rw-gbm-train"
        (dest / "incoming").mkdir(parents=True)
        pp.demo_rows(b.sizes.gbm_train_rows, seed=3).to_csv(
            dest / "incoming" / "rows.csv", index=False
        )
        config = dest / "riskwatch.toml"
        config.write_text(pp.DEMO_PROJECT + '[training]\nmodel = "gradient_boosting"\n')
        pp.setup(pp.rw(config, "ingest"), "riskwatch ingest (gbm train)")
        return config

    config: Path = b.once("gbm_train", make)
    runs = max(2, min(b.runs, 3))
    idle = Case(
        "idle",
        Series("python -m riskwatch train (gradient_boosting), other core idle"),
        lambda i: (pp.rw(config, "train"), pp.rw_env(), config.parent),
    )
    busy_core = BusyCore(b.busy_pin)

    def busy_prepare(i: int) -> tuple[list[str], dict[str, str], Path]:
        busy_core.__enter__()
        return pp.rw(config, "train"), pp.rw_env(), config.parent

    busy = Case(
        "riskwatch",
        Series("python -m riskwatch train (gradient_boosting), other core busy"),
        busy_prepare,
        cleanup=lambda i: busy_core.__exit__(),
    )
    try:
        interleave([idle, busy], runs, b.timeout, b.say)
    finally:
        busy_core.__exit__()
    cols: dict[str, Series | Latency] = {"riskwatch": busy.series, "floor": idle.series}
    return [
        Row(
            "10",
            f"train gradient boosting on {b.sizes.gbm_train_rows:,} demo rows, other core busy",
            cols,
            2 * idle.series.median if idle.series.ok else None,
            "within 2x of the idle time",
            notes=[
                f"floor = the same command with the other core idle; busy = `python -c 'while True: pass'`"
                f"{' pinned to CPU ' + str(b.busy_pin) if b.busy_pin is not None else ' (not pinned)'}; "
                f"{os.cpu_count()} cores"
            ],
            runs=runs,
        )
    ]

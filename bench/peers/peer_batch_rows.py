"""Rows 3-5: ingest, train and batch-predict the big course-schema file, beside each peer's script."""

from __future__ import annotations

import shutil
from pathlib import Path

import peer_env as pe
import peer_projects as pp
from peer_bench import Bench
from peer_measure import Case, Latency, Series, fixed, interleave
from peer_rows import HERE, Row, peer_case, peer_names

PREDICT = "import diagnostics; diagnostics.model_predictions()"


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
            for name in peer_names(b):
                peer = pe.peer_dir(b.peers[name], work / name)
                pe.link(data, peer / "in" / "clients.csv")
                cases.append(peer_case(b, name, peer, ["ingestion.py"], "python ingestion.py"))
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
    for name in peer_names(b):
        cases.append(
            peer_case(
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
    for name in peer_names(b):
        folder = b.big_peer(name, trained=True)
        cases.append(peer_case(b, name, folder, ["-c", PREDICT], f'python -c "{PREDICT}"'))
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

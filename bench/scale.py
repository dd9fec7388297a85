"""Ingest, batch scoring and drift past one process: the local engine and a Dask cluster.

Generates course-schema CSV files (``corporation, lastmonth_activity, lastyear_activity,
number_of_employees, exited``; 1M rows per file), trains the course champion on the course
data, then runs three steps, each as whole ``riskwatch`` processes:
  ingest  - ``riskwatch ingest`` of a drop folder holding the files (an empty workspace per run)
  predict - ``riskwatch predict`` of the files
  drift   - ``riskwatch drift -i`` of the files against the champion's reference
with
  local  - ``[engine] kind = "local"`` on the first ``--local-rows`` rows (one process)
  dask   - ``[engine] kind = "dask"`` on all ``--rows`` rows, on a scheduler and two 1-thread
           workers with ``--worker-memory`` each, started here on loopback (fresh per step)

Reported per case: wall time (median of ``--runs``), CPU-seconds per million rows (driver +
workers), peak RSS of the driver and of each worker, and worker restarts (must be 0).

Usage: python bench/scale.py [--rows 50000000] [--local-rows 5000000] [--runs 3]
Writes the "scale" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

from _results import COURSE_CONFIG, PYTHON, header, write_section

COURSE = Path(__file__).parents[1] / "tests" / "fixtures" / "course"
PER_FILE = 1_000_000
CONFIG = COURSE_CONFIG.format(evaluation=COURSE / "testdata")


def generate(folder: Path, rows: int, seed: int = 0) -> list[Path]:
    """Course-schema client files of ``PER_FILE`` rows each, labelled (ingest needs ``exited``;
    predict and drift ignore it)."""
    import numpy as np
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    files = []
    for i in range(0, rows, PER_FILE):
        n = min(PER_FILE, rows - i)
        frame = pd.DataFrame(
            {
                "corporation": [f"c{j:09d}" for j in range(i, i + n)],
                "lastmonth_activity": rng.integers(0, 3000, n),
                "lastyear_activity": rng.integers(0, 30000, n),
                "number_of_employees": rng.integers(1, 2000, n),
                "exited": rng.integers(0, 2, n),
            }
        )
        path = folder / f"clients-{i // PER_FILE:04d}.csv"
        frame.to_csv(path, index=False)
        files.append(path)
    return files


def timed(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"bench: {' '.join(cmd)} failed: {err.strip()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _worker_usage() -> dict[str, float]:
    import resource

    u = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu": u.ru_utime + u.ru_stime, "peak_mb": u.ru_maxrss / 1024}


def start_cluster(memory: str) -> tuple[str, list[subprocess.Popen[bytes]]]:
    from distributed import Client

    port = 8790
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [
                PYTHON,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            **quiet,  # type: ignore[call-overload]
        )
    ]
    time.sleep(1)
    for i in (1, 2):
        worker = ["--nthreads", "1", "--memory-limit", memory, "--no-dashboard", "--name", f"w{i}"]
        procs.append(
            subprocess.Popen(
                [PYTHON, "-m", "distributed.cli.dask_worker", address, *worker],
                **quiet,  # type: ignore[call-overload]
            )
        )
    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
    return address, procs


def _concat(files: list[Path], target: Path) -> Path:
    """One CSV of ``files`` (the local engine reads one file for predict and drift)."""
    with target.open("wb") as out:
        for n, f in enumerate(files):
            with f.open("rb") as src:
                if n:
                    src.readline()
                shutil.copyfileobj(src, out)
    return target


def _ingest_project(root: Path, files: list[Path], engine: str) -> Path:
    """A fresh project whose drop folder holds ``files`` (hard links), nothing ingested."""
    root.mkdir(parents=True)
    (root / "in").mkdir()
    for f in files:
        os.link(f, root / "in" / f.name)
    config = root / "riskwatch.toml"
    config.write_text(CONFIG + engine)
    return config


def _measure(
    label: str, runs: int, command: Callable[[int], list[str]], address: str | None
) -> dict[str, Any]:
    """Median wall and driver CPU of ``runs`` whole processes; with a cluster, the workers' CPU
    per run and their peak RSS (fresh workers per step, so the peak is this step's)."""
    from distributed import Client

    before: dict[str, Any] = {}
    workers: set[str] = set()
    if address:
        with Client(address) as client:
            before = client.run(_worker_usage)
            workers = set(client.scheduler_info()["workers"])
    results = [timed(command(i)) for i in range(runs)]
    out: dict[str, Any] = {
        "label": label,
        "wall": statistics.median(r[0] for r in results),
        "driver_cpu": statistics.median(r[1] for r in results),
        "driver_peak": max(r[2] for r in results),
        "worker_cpu": 0.0,
        "worker_peaks": "-",
        "restarts": 0,
    }
    if address:
        with Client(address) as client:
            after = client.run(_worker_usage)
            out["restarts"] = len(workers ^ set(client.scheduler_info()["workers"]))
        cpu = sum(after[w]["cpu"] - before[w]["cpu"] for w in after if w in before)
        out["worker_cpu"] = cpu / runs
        out["worker_peaks"] = " / ".join(f"{after[w]['peak_mb']:.0f}" for w in sorted(after))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000_000)
    ap.add_argument("--local-rows", type=int, default=5_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--worker-memory", default="2GiB")
    ap.add_argument("--busy", default="nothing else", help="what else ran (for the record)")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="rw-scale-"))
    try:
        project = root / "project"
        (project / "in").mkdir(parents=True)
        for f in (COURSE / "practicedata").glob("*.csv"):
            shutil.copy(f, project / "in" / f.name)
        config = project / "riskwatch.toml"
        config.write_text(CONFIG)
        rw = [PYTHON, "-m", "riskwatch", "--config"]
        timed([*rw, str(config), "run"])
        files = generate(root / "clients", args.rows)
        local_files = files[: max(1, args.local_rows // PER_FILE)]
        local_rows = min(args.rows, len(local_files) * PER_FILE)
        local_all = _concat(local_files, root / "local-all.csv")
        every = str(root / "clients" / "*.csv")
        m_local, m_all = local_rows / 1e6, args.rows / 1e6
        results: list[tuple[str, float, dict[str, Any]]] = []

        def engine(address: str) -> str:
            return f'[engine]\nkind = "dask"\naddress = "{address}"\nblocksize = "64MiB"\n'

        def ingest(kind: str, chosen: list[Path], address: str) -> Callable[[int], list[str]]:
            def command(i: int) -> list[str]:
                where = root / f"ingest-{kind}-{i}"
                cfg = _ingest_project(where, chosen, engine(address) if address else "")
                return [*rw, str(cfg), "ingest"]

            return command

        steps: list[tuple[str, Callable[[str, str], Callable[[int], list[str]]]]] = [
            (
                "ingest (validate, hash, dedupe, Parquet)",
                lambda kind, address: ingest(
                    kind, local_files if kind == "local" else files, address
                ),
            ),
            (
                "batch scoring (`predict`)",
                lambda kind, address: (
                    lambda i: [
                        *rw,
                        str(config if kind == "local" else dask_cfg),
                        "predict",
                        "-i",
                        str(local_all if kind == "local" else every),
                        "-o",
                        str(root / f"out-{kind}.parquet"),
                    ]
                ),
            ),
            (
                "drift check of the batch vs the reference (`drift -i`)",
                lambda kind, address: (
                    lambda i: [
                        *rw,
                        str(config if kind == "local" else dask_cfg),
                        "drift",
                        "-i",
                        str(local_all if kind == "local" else every),
                    ]
                ),
            ),
        ]
        dask_cfg = project / "dask.toml"
        for step, make in steps:
            results.append(
                (step, m_local, _measure("local engine", args.runs, make("local", ""), None))
            )
            address, procs = start_cluster(args.worker_memory)  # fresh workers: this step's peak
            dask_cfg.write_text(CONFIG + engine(address))
            try:
                label = f"dask, 2 workers x 1 thread, {args.worker_memory} each"
                results.append(
                    (step, m_all, _measure(label, args.runs, make("dask", address), address))
                )
            finally:
                for p in procs:
                    p.terminate()
                for p in procs:
                    p.wait(timeout=30)
            for leftover in root.glob("ingest-*"):
                shutil.rmtree(leftover, ignore_errors=True)
        write_results(args, results, m_all)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def write_results(
    args: argparse.Namespace, results: list[tuple[str, float, dict[str, Any]]], m_all: float
) -> None:
    """The "scale" section of bench/RESULTS.md: a table per step and the projection."""
    table = [
        "| step | engine | rows | wall s | driver CPU-s per 1M rows | worker CPU-s per 1M rows |"
        " driver peak MB | worker peak MB | worker restarts |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    projection = [
        "| step | 2 workers | 8 workers | 32 workers | driver share at 32 |",
        "|---|---:|---:|---:|---:|",
    ]
    for step, m, r in results:
        table.append(
            f"| {step} | {r['label']} | {m:.0f}M | {r['wall']:.1f} | {r['driver_cpu'] / m:.2f} | "
            f"{r['worker_cpu'] / m:.2f} | {r['driver_peak']:.0f} | {r['worker_peaks']} | "
            f"{r['restarts']} |"
        )
        if r["worker_peaks"] == "-":
            continue
        # workers' CPU divides over N one-thread workers; the driver's share and the fixed
        # start-up (wall not explained by CPU on 2 workers) do not
        fixed = max(r["wall"] - r["driver_cpu"] - r["worker_cpu"] / 2, 0.0)
        at = {n: fixed + r["driver_cpu"] + r["worker_cpu"] / n for n in (2, 8, 32)}
        projection.append(
            f"| {step} | {at[2]:.0f} | {at[8]:.0f} | {at[32]:.0f} | "
            f"{100 * r['driver_cpu'] / at[32]:.0f}% |"
        )
    body = header(
        "Ingest, batch scoring and drift beyond one process (bench/scale.py)",
        f"python bench/scale.py --rows {args.rows} --local-rows {args.local_rows} --runs {args.runs}",
    )
    body += (
        f"\nCourse-schema CSV files of 1M rows (with labels); each step a whole `riskwatch` "
        f"process, median of {args.runs}; every ingest run starts from an empty workspace. The "
        "local engine reads the first files concatenated; the dask engine reads them all (a glob "
        "for predict and drift, the drop folder for ingest) on a scheduler and two fresh 1-thread "
        f"workers per step. Also running: {args.busy}.\n\n"
        + "\n".join(table)
        + f"\n\nProjected wall time at {m_all:.0f}M rows with N one-thread workers (the measured "
        "worker CPU divided by N; the driver's CPU and the fixed start-up not):\n\n"
        + "\n".join(projection)
        + "\n"
    )
    write_section("scale", body)
    print(body)


if __name__ == "__main__":
    main()

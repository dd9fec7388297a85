"""Batch scoring past one process: ``riskwatch predict`` with the local engine and on a Dask cluster.

Generates course-schema CSV files (``corporation, lastmonth_activity, lastyear_activity,
number_of_employees``; 1M rows per file), trains the course champion on the course data, then
scores the files:
  local  - ``[engine] kind = "local"`` on the first ``--local-rows`` rows (one process)
  dask   - ``[engine] kind = "dask"`` on all ``--rows`` rows, on a scheduler and two 1-thread
           workers with ``--worker-memory`` each, started here on loopback

Reported per case: wall time (median of ``--runs``), CPU-seconds per million rows (driver +
workers), peak RSS of the driver and of each worker, and worker restarts (must be 0).

Usage: python bench/scale.py [--rows 20000000] [--local-rows 5000000] [--runs 3]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

from _results import COURSE_CONFIG, PYTHON, header, write_section

COURSE = Path(__file__).parents[1] / "tests" / "fixtures" / "course"
PER_FILE = 1_000_000
CONFIG = COURSE_CONFIG.format(evaluation=COURSE / "testdata")


def generate(folder: Path, rows: int, seed: int = 0) -> list[Path]:
    """Course-schema client files of ``PER_FILE`` rows each."""
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--local-rows", type=int, default=5_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--worker-memory", default="2GiB")
    ap.add_argument("--busy", default="nothing else", help="what else ran (for the record)")
    args = ap.parse_args()
    from distributed import Client

    root = Path(tempfile.mkdtemp(prefix="rw-scale-"))
    try:
        project = root / "project"
        (project / "in").mkdir(parents=True)
        for f in (COURSE / "practicedata").glob("*.csv"):
            shutil.copy(f, project / "in" / f.name)
        (project / "riskwatch.toml").write_text(CONFIG)
        rw = [PYTHON, "-m", "riskwatch", "--config"]
        timed([*rw, str(project / "riskwatch.toml"), "run"])
        files = generate(root / "clients", args.rows)
        local_files = files[: max(1, args.local_rows // PER_FILE)]
        local_rows = min(args.rows, len(local_files) * PER_FILE)
        (root / "local").mkdir()
        for f in local_files:
            os.link(f, root / "local" / f.name)
        local_all = root / "local-all.csv"  # the local engine reads one file: concatenate
        with local_all.open("wb") as out:
            for n, f in enumerate(local_files):
                with f.open("rb") as src:
                    if n:
                        src.readline()
                    shutil.copyfileobj(src, out)
        address, procs = start_cluster(args.worker_memory)
        dask_cfg = project / "dask.toml"
        dask_cfg.write_text(
            CONFIG + f'[engine]\nkind = "dask"\naddress = "{address}"\nblocksize = "64MiB"\n'
        )
        rows: list[str] = []
        try:
            local = [
                timed(
                    [
                        *rw,
                        str(project / "riskwatch.toml"),
                        "predict",
                        "-i",
                        str(local_all),
                        "-o",
                        str(root / "out-local.parquet"),
                    ]
                )
                for _ in range(args.runs)
            ]
            with Client(address) as client:
                before = client.run(_worker_usage)
                workers_before = set(client.scheduler_info()["workers"])
            remote = [
                timed(
                    [
                        *rw,
                        str(dask_cfg),
                        "predict",
                        "-i",
                        str(root / "clients" / "*.csv"),
                        "-o",
                        str(root / "out-dask.parquet"),
                    ]
                )
                for _ in range(args.runs)
            ]
            with Client(address) as client:
                after = client.run(_worker_usage)
                restarts = len(workers_before ^ set(client.scheduler_info()["workers"]))
        finally:
            for p in procs:
                p.terminate()
        worker_cpu = sum(after[w]["cpu"] - before[w]["cpu"] for w in after if w in before)
        per_run = worker_cpu / args.runs
        for label, n, runs, extra_cpu, peaks in (
            ("local engine", local_rows, local, 0.0, "-"),
            (
                f"dask, 2 workers x 1 thread, {args.worker_memory} each",
                args.rows,
                remote,
                per_run,
                " / ".join(f"{after[w]['peak_mb']:.0f}" for w in sorted(after)),
            ),
        ):
            wall = statistics.median(r[0] for r in runs)
            driver_cpu = statistics.median(r[1] for r in runs)
            m = n / 1e6
            rows.append(
                f"| {label} | {m:.0f}M | {wall:.1f} | {driver_cpu / m:.2f} | {extra_cpu / m:.2f} | "
                f"{max(r[2] for r in runs):.0f} | {peaks} |"
            )
        # projection: workers' CPU divides over N threads; the driver's share does not
        m = args.rows / 1e6
        wall_2 = statistics.median(r[0] for r in remote)
        driver_s = statistics.median(r[1] for r in remote)
        fixed = max(wall_2 - driver_s - per_run / 2, 0.0)  # start-up, connection, waits
        projection = [
            f"| {n} | {fixed + driver_s / m * rows_m + per_run / m * rows_m / n:.0f} | "
            f"{100 * (driver_s / m * rows_m) / (fixed + driver_s / m * rows_m + per_run / m * rows_m / n):.0f}% |"
            for rows_m in (50.0,)
            for n in (2, 8, 32)
        ]
        body = header(
            "Batch scoring beyond one process (bench/scale.py)",
            f"python bench/scale.py --rows {args.rows} --local-rows {args.local_rows} "
            f"--runs {args.runs}",
        )
        body += (
            f"\nCourse model, course-schema CSV files of 1M rows; `riskwatch predict` as a whole "
            f"process, median of {args.runs}. Also running: {args.busy}. Worker restarts during "
            f"the dask runs: {restarts}.\n\n"
            "| engine | rows | wall s | driver CPU-s per 1M rows | worker CPU-s per 1M rows |"
            " driver peak MB | worker peak MB |\n|---|---:|---:|---:|---:|---:|---|\n"
            + "\n".join(rows)
            + "\n\nProjected wall time for 50M rows with N one-thread workers (worker CPU "
            "divided by N, the driver's gather/rank/write and the fixed start-up not):\n\n"
            "| workers | projected s | driver share |\n|---:|---:|---:|\n"
            + "\n".join(projection)
            + "\n"
        )
        write_section("scale", body)
        print(body)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""More SIGKILL trials than the test suite runs: `riskwatch run` killed at spread-out moments.

Runs tests/test_run_faults.py once per scenario with many trials and records the outcome in the
"faults" section of bench/RESULTS.md:

- course:   the course files in a drop folder, SQLite metadata (a run without retraining)
- drift:    a demo drift month: the run checks drift, retrains and deploys (SQLite metadata)
- postgres: the same drift month with the metadata database on PostgreSQL (a schema per trial)

Usage: python bench/faults.py [--trials 200] [--mode all|course|drift|postgres]
With ``--mode all`` the trials are split between drift and postgres (the runs that retrain and
deploy), plus a tenth as many course trials.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _results import PYTHON, header, write_section

ENV = {
    "course": "RISKWATCH_KILL_TRIALS",
    "drift": "RISKWATCH_KILL_TRIALS_DRIFT",
    "postgres": "RISKWATCH_KILL_TRIALS_POSTGRES",
}
WHAT = {
    "course": "course files, SQLite metadata",
    "drift": "demo drift month: retrain + deploy, SQLite metadata",
    "postgres": "demo drift month: retrain + deploy, PostgreSQL metadata",
}


def plan(mode: str, trials: int) -> dict[str, int]:
    """Trials per scenario."""
    if mode != "all":
        return {mode: trials}
    return {"drift": trials - trials // 2, "postgres": trials // 2, "course": max(trials // 10, 1)}


def run_mode(root: Path, mode: str, trials: int) -> tuple[int, str, list[dict[str, Any]], float]:
    """Run the fault test for one scenario; returns (exit code, last line, trial records, s)."""
    log = Path(tempfile.mkstemp(prefix=f"kills-{mode}-", suffix=".jsonl")[1])
    env = {**os.environ, **{v: "0" for v in ENV.values()}, ENV[mode]: str(trials)}
    env["RISKWATCH_KILL_LOG"] = str(log)
    t0 = time.perf_counter()
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_run_faults.py",
            "-k",
            mode,
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t0
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    log.unlink(missing_ok=True)
    lines = done.stdout.strip().splitlines() or ["(no output)"]
    failure = next((x for x in lines if x.startswith(("E ", "FAILED"))), lines[-1])
    return done.returncode, failure, records, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--mode", choices=["all", *ENV], default="all")
    args = parser.parse_args()
    root = Path(__file__).parents[1]
    rows, failed = [], False
    totals: collections.Counter[str] = collections.Counter()
    for mode, trials in plan(args.mode, args.trials).items():
        code, last, records, seconds = run_mode(root, mode, trials)
        hit = [r for r in records if r["killed"] != "finished before"]
        phases = collections.Counter(r["killed"] for r in hit)
        lost = sum(max(0, r["expected_rows"] - r["stored_rows"]) for r in records)
        orphans = sum(len(r["orphans"]) for r in records)
        verdict = "all recovered" if code == 0 and len(records) == trials else f"FAILED: {last}"
        failed |= code != 0
        in_training = sum(n for step, n in phases.items() if step in ("drift", "train"))  # the
        # step named is the last one finished: the kill hit train (after drift) or deploy
        rows.append(
            f"| {mode} | {WHAT[mode]} | {len(records)} | {len(hit)} | {in_training} | "
            f"{lost} | {orphans} | {verdict} | {seconds:.0f} |"
        )
        totals.update(trials=len(records), hit=len(hit), lost=lost, orphans=orphans)
        print(rows[-1], "; killed after:", dict(phases), flush=True)
    body = [
        header(
            "Fault injection: SIGKILL during riskwatch run",
            f"python bench/faults.py --trials {args.trials} --mode {args.mode}",
        ),
        "Each trial copies a project that already has a champion, adds a batch, starts "
        "`riskwatch run`, kills it with SIGKILL after a delay spread over the length of a whole "
        "run (start-up included), runs `riskwatch run` again and checks: the dataset has exactly "
        "the rows of a run that was not killed (counted in its Parquet parts), no orphan part, "
        "temp file, model staging folder, unregistered model folder or report temp folder is "
        "left, every artifact matches its checksum, the champion loads, and the markers say all "
        "is processed.",
        "",
        "| scenario | what | trials | kills of a live process | kills during train or deploy "
        "| rows lost | orphans | verdict | s |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
        *rows,
        "",
        f"Total: {totals['trials']} trials, {totals['hit']} kills on a live run, "
        f"{totals['lost']} rows lost, {totals['orphans']} orphans.",
    ]
    write_section("faults", "\n".join(body))
    print("\n".join(body[-1:]))
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()

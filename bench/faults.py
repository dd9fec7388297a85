"""More SIGKILL trials than the test suite runs: `riskwatch run` killed at spread-out moments.

Runs tests/test_run_faults.py with RISKWATCH_KILL_TRIALS=N (default 60) and records the outcome
in the "faults" section of bench/RESULTS.md.
Usage: python bench/faults.py [--trials 60]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import PYTHON, header, write_section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    args = parser.parse_args()
    root = Path(__file__).parents[1]
    env = {**os.environ, "RISKWATCH_KILL_TRIALS": str(args.trials)}
    t0 = time.perf_counter()
    done = subprocess.run(
        [PYTHON, "-m", "pytest", "-q", "tests/test_run_faults.py"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t0
    verdict = (
        "all recovered"
        if done.returncode == 0
        else "FAILED: " + done.stdout.strip().splitlines()[-1]
    )
    body = [
        header(
            "Fault injection: SIGKILL during riskwatch run",
            f"python bench/faults.py --trials {args.trials}",
        ),
        f"{args.trials} kills spread over a whole run (start-up included), each followed by a normal run and "
        f"checks (exact dataset rows, artifacts match their checksums, champion loads, markers complete): "
        f"**{verdict}** in {seconds:.0f} s.",
    ]
    write_section("faults", "\n".join(body))
    print(body[-1])
    raise SystemExit(done.returncode)


if __name__ == "__main__":
    main()

"""The loop on the demo: months 1-6, then one month at a time through `riskwatch run` (drift from
month 7); the model serving each month is scored on it before it is ingested.

Usage: python bench/loop_demo.py [--clients 10000] [--months 12] [--seed 0]
Writes the "loop" section of bench/RESULTS.md (the acceptance table of the loop issue).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from _results import header, write_section

from tests.loop_scenario import play


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rw-bench-loop-") as tmp:
        rows = play(Path(tmp), clients=args.clients, months=args.months, seed=args.seed)
    lines = [
        header(
            "The loop on the demo (drift from month 7)",
            "python bench/loop_demo.py " + " ".join(sys.argv[1:]),
        ),
        f"{args.clients:,} clients; months 1-6 in one run, then one month per run "
        f"({time.perf_counter() - started:.0f} s in all). Each row: the model serving that month, "
        "scored on the month before it is ingested, then what the run did.\n",
        "| month | serving | forward ROC AUC | mean predicted | observed | ECE | retrained | promoted |",
        "|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['month']} | v{r['serving']} | {r['roc_auc']:.4f} | {r['predicted']:.3f} | "
            f"{r['observed']:.3f} | {r['ece']:.3f} | {'yes' if r['retrained'] else 'no'} | "
            f"{'v' + str(r['champion_after']) if r['promoted'] else 'no'} |"
        )
        print(lines[-1], flush=True)
    write_section("loop", "\n".join(lines))


if __name__ == "__main__":
    main()

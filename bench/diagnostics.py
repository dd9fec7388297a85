"""Diagnostics benchmark: `riskwatch diagnose` on a 1M-row dataset, and the dependency check offline.

Writes the "diagnostics" section of bench/RESULTS.md.
Usage: python bench/diagnostics.py [--rows 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import PYTHON, Timing, header, run_timed, table, write_section
from ingest import CONFIG, make_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rw-bench-diag-") as tmp:
        root = Path(tmp)
        (root / "incoming").mkdir()
        make_csv(root / "incoming" / "clients.csv", args.rows)
        (root / "riskwatch.toml").write_text(CONFIG)
        cfg = str(root / "riskwatch.toml")
        run_timed([PYTHON, "-m", "riskwatch", "--config", cfg, "ingest"])
        offline = {**os.environ, "RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"}
        diag = Timing(
            f"riskwatch diagnose --offline, {args.rows:,} rows",
            "python -m riskwatch diagnose --offline",
            [],
            [],
        )
        noidx = Timing(
            "riskwatch diagnose, package index unreachable",
            "RISKWATCH_PACKAGE_INDEX=http://127.0.0.1:9 riskwatch diagnose",
            [],
            [],
        )
        for _ in range(args.runs):
            for t, extra, env in ((diag, ["--offline"], None), (noidx, [], offline)):
                s, mb = run_timed(
                    [PYTHON, "-m", "riskwatch", "--config", cfg, "diagnose", *extra], env=env
                )
                t.seconds.append(s)
                t.peak_mb.append(mb)
        sys.path.insert(0, str(Path(__file__).parents[1] / "src"))
        os.environ["RISKWATCH_PACKAGE_INDEX"] = "http://127.0.0.1:9"
        from riskwatch.monitoring.diagnostics import dependencies
        from riskwatch.storage.workspace import Workspace

        dep_times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            rows = dependencies(Workspace(root / "ws"), network=True)
            dep_times.append(time.perf_counter() - t0)
        unknown = sum(str(r["latest"]).startswith("unknown") for r in rows)
    dep_times.sort()
    lines = [
        header("Diagnostics", "python bench/diagnostics.py " + " ".join(sys.argv[1:])),
        "Whole-process `riskwatch diagnose` (summary statistics, missing data, timings, dependencies; "
        "results stored in the metadata database):\n",
        table([diag, noidx]),
        f"\nDependency check alone with the index unreachable: median {dep_times[len(dep_times) // 2]:.3f} s "
        f"for {len(rows)} packages, {unknown} reported as unknown.",
    ]
    write_section("diagnostics", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Ingestion benchmark: 1M and 10M-row course-schema CSVs, whole process, beside plain pandas.

Each run starts from a fresh workspace and times `python -m riskwatch ingest` end to end
(interpreter start-up included), next to a course-style script doing
`pandas.read_csv + drop_duplicates + to_csv`. Median wall time and peak RSS are written to the
"ingest" section of bench/RESULTS.md.

Usage: python bench/ingest.py [--sizes 1000000 10000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _results import PYTHON, Timing, header, run_timed, table, write_section

CONFIG = """[workspace]
path = "ws"
[contract]
id_column = "corporation"
target_column = "exited"
positive_label = 1
[sources.drop]
kind = "folder"
path = "incoming"
settle_seconds = 0  # the data is copied in just before each timed command
"""
PANDAS = """import sys, pandas as pd
df = pd.read_csv(sys.argv[1])
df = df.drop_duplicates()
df.to_csv(sys.argv[2], index=False)
"""


def make_csv(path: Path, rows: int, seed: int = 0) -> None:
    """Course columns, ~3% of rows duplicated, written in blocks to keep memory flat."""
    rng = np.random.default_rng(seed)
    block = 1_000_000
    with path.open("w") as out:
        out.write("corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            ids = np.arange(start, start + n)
            dup = rng.random(n) < 0.03
            ids[dup] = np.maximum(ids[dup] - 1, 0)
            act = rng.integers(0, 5000, n)
            year = act * 12 + rng.integers(0, 100, n)
            emp = rng.integers(1, 2000, n)
            ext = (rng.random(n) < 0.1).astype(int)
            src = np.maximum(np.flatnonzero(dup) - 1, 0)  # a duplicate repeats the previous row
            for col in (act, year, emp, ext):
                col[dup] = col[src]
            lines = "\n".join(
                f"c{i:08d},{a},{y},{e},{x}"
                for i, a, y, e, x in zip(ids, act, year, emp, ext, strict=True)
            )
            out.write(lines + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="rw-bench-ingest-") as tmp:
        root = Path(tmp)
        (root / "pandas_style.py").write_text(PANDAS)
        for size in args.sizes:
            data = root / f"data-{size}.csv"
            make_csv(data, size)
            runs = args.runs if size <= 1_000_000 else max(2, args.runs - 1)
            ours, theirs = (
                Timing(f"riskwatch ingest, {size:,} rows", "python -m riskwatch ingest", [], []),
                Timing(
                    f"pandas read_csv+drop_duplicates+to_csv, {size:,} rows",
                    "python pandas_style.py",
                    [],
                    [],
                ),
            )
            for i in range(runs):  # interleaved, so both see the same machine load
                project = root / f"p{size}-{i}"
                (project / "incoming").mkdir(parents=True)
                shutil.copy(data, project / "incoming" / "clients.csv")
                (project / "riskwatch.toml").write_text(CONFIG)
                s, mb = run_timed(
                    [
                        PYTHON,
                        "-m",
                        "riskwatch",
                        "--config",
                        str(project / "riskwatch.toml"),
                        "ingest",
                    ]
                )
                ours.seconds.append(s)
                ours.peak_mb.append(mb)
                s, mb = run_timed(
                    [PYTHON, str(root / "pandas_style.py"), str(data), str(project / "out.csv")]
                )
                theirs.seconds.append(s)
                theirs.peak_mb.append(mb)
                shutil.rmtree(project)
                print(
                    f"{size:>10,} run {i + 1}: riskwatch {ours.seconds[-1]:.2f} s, pandas {theirs.seconds[-1]:.2f} s",
                    flush=True,
                )
            rows += [ours, theirs]
            data.unlink()
    lines = [
        header(
            "Ingestion: whole process vs plain pandas",
            "python bench/ingest.py " + " ".join(sys.argv[1:]),
        ),
        "Course-schema CSV with ~3% duplicated rows; riskwatch validates every row, deduplicates against "
        "the stored dataset, writes a zstd Parquet part and records the ingestion; the pandas script only "
        "reads, drops duplicates and writes a CSV.\n",
        table(rows),
        "",
    ]
    for i in range(0, len(rows), 2):
        lines.append(
            f"- {rows[i].label}: {rows[i].median_s / rows[i + 1].median_s:.2f}x the pandas script's time, "
            f"{rows[i].peak_mb_max / rows[i + 1].peak_mb_max:.2f}x its peak memory"
        )
    write_section("ingest", "\n".join(lines))


if __name__ == "__main__":
    main()

"""Training and batch-prediction benchmark on demo-like clients: each model choice, 10k/100k/1M rows.

Times are measured in-process around the library calls (fit: training.fit with the configured
calibration; predict: LoadedModel-style predict_proba on raw client rows), median of several runs,
with the process's peak RSS. Writes the "train" section of bench/RESULTS.md.

Usage: python bench/train.py [--rows 10000 100000 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "src"))
from _results import header, write_section

from riskwatch.config import ContractSettings, TrainingSettings
from riskwatch.demo import DemoSpec, generate
from riskwatch.model.selection import plan_for
from riskwatch.model.training import fit
from riskwatch.schema import resolve_schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    lines = [
        header("Training and batch prediction", "python bench/train.py " + " ".join(sys.argv[1:])),
        "| rows | step | median s | runs |",
        "|---:|---|---:|---:|",
    ]
    biggest = max(args.rows)
    months = max(1, -(-biggest // 10_000))
    pool = generate(DemoSpec(clients=min(biggest, 10_000), months=months, seed=3))
    contract = ContractSettings(
        id_column="corporation",
        target_column="exited",
        positive_label=1,
        snapshot_column="snapshot_date",
        value_column="contract_value",
    )
    schema = resolve_schema(
        contract, pool
    )  # features and their kinds come from the data, as in riskwatch
    for n in args.rows:
        data = pool.sample(n=n, replace=n > len(pool), random_state=0).reset_index(drop=True)
        y = data["exited"].astype(int).to_numpy()
        kinds = (
            ["course", "logistic", "gradient_boosting", "auto"]
            if n <= 100_000
            else ["logistic", "gradient_boosting"]
        )
        fitted = None
        models = {}
        for kind in kinds:
            times = []
            for _ in range(args.runs if n <= 100_000 else 1):
                t0 = time.perf_counter()
                plan, _ = plan_for(
                    data[list(schema.features)], y, schema, TrainingSettings(model=kind)
                )
                fitted = fit(data, y, schema, plan)
                times.append(time.perf_counter() - t0)
            models[kind] = fitted
            why = f" (chose {fitted.kind})" if kind == "auto" else ""
            lines.append(
                f"| {n:,} | fit {kind}{why} | {statistics.median(times):.2f} | {len(times)} |"
            )
            print(lines[-1], flush=True)
        for kind in ("logistic", "gradient_boosting"):
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                models[kind].pipeline.predict_proba(data)
                times.append(time.perf_counter() - t0)
            lines.append(
                f"| {n:,} | predict ({kind}) | {statistics.median(times):.2f} | {len(times)} |"
            )
            print(lines[-1], flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines.append(
        f"\nPeak RSS of the benchmark process: {peak:.0f} MB. `auto` cross-validates both families on at most "
        "20,000 rows, then fits and calibrates the winner (5-fold sigmoid, one final model) on all rows."
    )
    write_section("train", "\n".join(lines))


if __name__ == "__main__":
    main()

"""Drift detection on the demo: the figures quoted in the README's Monitoring section.

10,000 clients, drift injected from month 7; a champion trained on months 1-4, then each of
months 5-9 checked as it arrives. Prints per month: verdict, ROC AUC against the baseline and
limit with its bootstrap interval, observed vs predicted attrition, and the label-free top-10%
precision estimate against the realised value. Writes the "drift" section of bench/RESULTS.md.

Usage: python bench/drift_demo.py [--clients 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "src"))
from _results import DEMO_PROJECT, header, write_section

from riskwatch.config import load_settings
from riskwatch.context import RunContext
from riskwatch.demo import DemoSpec, generate, month_batches
from riskwatch.ingest import job
from riskwatch.monitoring.check import check_batch
from riskwatch.registry import lifecycle
from riskwatch.storage.metadata import open_metadata
from riskwatch.storage.workspace import Workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    months = month_batches(
        generate(DemoSpec(clients=args.clients, months=9, drift_month=7, seed=args.seed))
    )
    rows = [
        "| month | verdict | ROC AUC | raw limit | 95% interval | attrition observed / predicted | "
        "top-10% precision estimated / realised |",
        "|---:|---|---:|---:|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="rw-bench-drift-") as tmp:
        root = Path(tmp)
        (root / "incoming").mkdir()
        (root / "riskwatch.toml").write_text(
            DEMO_PROJECT + '[training]\nmodel = "gradient_boosting"\n'
        )
        s = load_settings(root / "riskwatch.toml")
        ws = Workspace(s.workspace_path).ensure()
        ctx = RunContext(s, open_metadata(s.metadata_url), ws)
        for i in range(4):
            months[i].to_csv(root / "incoming" / f"m{i + 1}.csv", index=False)
        job.ingest(ctx)
        lifecycle.deploy(ctx, lifecycle.train_and_register(ctx).version)
        champion = ctx.champion()
        for i in range(4, 9):
            months[i].to_csv(root / "incoming" / f"m{i + 1}.csv", index=False)
            rep = job.ingest(ctx)
            batch = ctx.new_rows(rep.previous_version).frame
            out = check_batch(
                ctx, batch=batch, batch_name=f"month {i + 1}", model=champion
            ).to_dict()
            perf, cal = out["performance"], out["calibration"]
            gap = out["estimate_vs_realised"]["precision_at_k_fraction"]
            lo, hi = perf["interval"]
            rows.append(
                f"| {i + 1} | {out['verdict']} | {perf['value']:.3f} | {perf['limit']:.3f} | {lo:.3f}-{hi:.3f} | "
                f"{cal['observed_rate']:.3f} / {cal['predicted_rate']:.3f} (z {cal['z']:.1f}) | "
                f"{gap['estimated']:.3f} / {gap['realised']:.3f} |"
            )
            print(rows[-1], flush=True)
    write_section(
        "drift",
        "\n".join(
            [
                header(
                    "Drift detection on the demo (drift from month 7)",
                    "python bench/drift_demo.py " + " ".join(sys.argv[1:]),
                ),
                *rows,
            ]
        ),
    )


if __name__ == "__main__":
    main()

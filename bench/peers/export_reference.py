"""Write the champion's drift reference (its training rows, its features) to a CSV.

Runs in riskwatch's virtualenv, so that Evidently gets exactly the frame ``riskwatch drift``
compares against. Usage: python export_reference.py CONFIG OUT.csv
"""

from __future__ import annotations

import sys

from riskwatch.cli.common import run_context
from riskwatch.config import load_settings
from riskwatch.registry.evalsets import training_rows


def main(config: str, out: str) -> None:
    with run_context(load_settings(config)) as run:
        model = run.champion()
        if model is None:
            raise SystemExit(f"{config}: no champion")
        frame = training_rows(run, model.version)
        frame[list(model.schema.features)].to_csv(out, index=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""Evidently's DataDriftPreset on a reference and a current CSV, as a whole process (bench/peers.py).

Runs in the peers' virtualenv. Compares the columns the reference file has (the champion's
features, written by export_reference.py) and prints the report's result as JSON.

Usage: python evidently_drift.py REFERENCE.csv CURRENT.csv
"""

from __future__ import annotations

import json
import sys

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset


def main(reference_csv: str, current_csv: str) -> None:
    reference = pd.read_csv(reference_csv)
    current = pd.read_csv(current_csv, usecols=lambda c: c in set(reference.columns))
    snapshot = Report([DataDriftPreset()]).run(
        current_data=current[reference.columns], reference_data=reference
    )
    print(json.dumps(snapshot.dict(), default=str)[:2000])


if __name__ == "__main__":
    main(*sys.argv[1:3])

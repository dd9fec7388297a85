"""The plain pandas floor of the ingest row: read every CSV of a folder, drop duplicates, write one.

Usage: python pandas_floor.py INPUT_DIR OUT.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def main(folder: str, out: str) -> None:
    frames = [pd.read_csv(f) for f in sorted(Path(folder).glob("*.csv"))]
    pd.concat(frames, ignore_index=True).drop_duplicates().to_csv(out, index=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""Rows 8 and 10: drift checks beside Evidently, gradient-boosting training with a busy core."""

from __future__ import annotations

import os
from pathlib import Path

import peer_projects as pp
from peer_bench import Bench
from peer_measure import BusyCore, Case, Latency, Series, fixed, interleave
from peer_rows import HERE, Row


def row_8(b: Bench) -> list[Row]:
    """riskwatch drift -i vs Evidently's DataDriftPreset on the same reference and current frames."""
    config, _ = b.demo_gbm()
    reference = b.reference_csv()
    script = HERE / "evidently_drift.py"
    rows = []
    for letter, size in zip("abc", b.sizes.drift_sizes, strict=True):
        last = size == b.sizes.drift_sizes[-1]
        current = b.demo_current(size)
        cases = [
            Case(
                "riskwatch",
                Series("python -m riskwatch drift -i batch.csv"),
                fixed(pp.rw(config, "drift", "-i", str(current)), pp.rw_env(), config.parent),
            ),
        ]
        if b.venv is not None:
            env = {**b.peer_env, "DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}
            cases.append(
                Case(
                    "floor",
                    Series("python evidently_drift.py reference.csv batch.csv"),
                    fixed([str(b.peer_python), str(script), str(reference), str(current)], env),
                )
            )
        b.say(f"  {size:,} rows")
        interleave(cases, b.runs, b.timeout, b.say)
        cols: dict[str, Series | Latency] = {c.name: c.series for c in cases}
        ev = cols.get("floor")
        rows.append(
            Row(
                f"8{letter}",
                f"`riskwatch drift -i` {size:,} rows vs the reference",
                cols,
                ev.median / 5 if ev is not None and ev.ok else None,
                ">= 5x faster than Evidently" + (", <= 400 MB at 1M rows" if last else ""),
                memory=True,
                mem_goal=400.0 if last and b.sizes.scale == 1 else None,
                notes=[
                    f"reference = the champion's training rows ({_lines(reference):,} rows, its features), exported "
                    "once; floor = Evidently DataDriftPreset (peers' venv) on the same two frames, whole process",
                ],
                runs=b.runs,
            )
        )
    return rows


def _lines(path: Path) -> int:
    with path.open("rb") as f:
        return max(0, sum(1 for _ in f) - 1)


def row_10(b: Bench) -> list[Row]:
    """riskwatch train with gradient boosting, the other core idle vs busy (a busy-loop process)."""

    def make() -> Path:
        dest = b.root / "rw-gbm-train"
        (dest / "incoming").mkdir(parents=True)
        pp.demo_rows(b.sizes.gbm_train_rows, seed=3).to_csv(
            dest / "incoming" / "rows.csv", index=False
        )
        config = dest / "riskwatch.toml"
        config.write_text(pp.DEMO_PROJECT + '[training]\nmodel = "gradient_boosting"\n')
        pp.setup(pp.rw(config, "ingest"), "riskwatch ingest (gbm train)")
        return config

    config: Path = b.once("gbm_train", make)
    runs = max(2, min(b.runs, 3))
    idle = Case(
        "idle",
        Series("python -m riskwatch train (gradient_boosting), other core idle"),
        lambda i: (pp.rw(config, "train"), pp.rw_env(), config.parent),
    )
    busy_core = BusyCore(b.busy_pin)

    def busy_prepare(i: int) -> tuple[list[str], dict[str, str], Path]:
        busy_core.__enter__()
        return pp.rw(config, "train"), pp.rw_env(), config.parent

    busy = Case(
        "riskwatch",
        Series("python -m riskwatch train (gradient_boosting), other core busy"),
        busy_prepare,
        cleanup=lambda i: busy_core.__exit__(),
    )
    try:
        interleave([idle, busy], runs, b.timeout, b.say)
    finally:
        busy_core.__exit__()
    cols: dict[str, Series | Latency] = {"riskwatch": busy.series, "floor": idle.series}
    return [
        Row(
            "10",
            f"train gradient boosting on {b.sizes.gbm_train_rows:,} demo rows, other core busy",
            cols,
            2 * idle.series.median if idle.series.ok else None,
            "within 2x of the idle time",
            notes=[
                f"floor = the same command with the other core idle; busy = `python -c 'while True: pass'`"
                f"{' pinned to CPU ' + str(b.busy_pin) if b.busy_pin is not None else ' (not pinned)'}; "
                f"{os.cpu_count()} cores"
            ],
            runs=runs,
        )
    ]

"""Generated data and riskwatch projects for bench/peers.py (the riskwatch column).

riskwatch runs from this worktree's virtualenv (the interpreter running bench/peers.py) as whole
processes: ``python -m riskwatch --config <project>/riskwatch.toml <command>``. The dependency
check of ``run``/``diagnose`` is pointed at an unreachable index (as bench/api.py does) so that no
row waits on the network; the peers' measured paths do not use the network either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

BENCH = Path(__file__).resolve().parents[1]
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "src"))

from _results import COURSE_CONFIG, DEMO_PROJECT  # noqa: E402
from ingest import make_csv  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd

PYTHON = sys.executable
SETUP_TIMEOUT = 3600.0  # an untimed set-up step (e.g. the first gradient-boosting run) may be slow
API_KEY = "bench-key"
COURSE_DATA = REPO.parent / "shared" / "data" / "course-starter"
COURSE_COLUMNS = ["corporation", "lastmonth_activity", "lastyear_activity", "number_of_employees"]


def rw(config: Path, *args: str) -> list[str]:
    return [PYTHON, "-m", "riskwatch", "--config", str(config), *args]


def rw_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RISKWATCH_CONFIG"}
    env["RISKWATCH_PACKAGE_INDEX"] = "http://127.0.0.1:9"
    env["RISKWATCH_API_KEY"] = API_KEY
    env["MPLBACKEND"] = "Agg"
    env.update(extra)
    return env


def setup(cmd: list[str], what: str) -> str:
    """An untimed riskwatch step; returns its stdout, fails with its stderr."""
    done = subprocess.run(cmd, env=rw_env(), capture_output=True, text=True, timeout=SETUP_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{what}: exit {done.returncode}: {done.stderr.strip()[-400:]}")
    return done.stdout


def wait_for_report(config: Path, timeout: float = 300.0) -> None:
    """Wait (untimed) until the run's background report child has released the workspace lock,
    so that it never overlaps the next measured process."""
    import fcntl
    import time

    lock = config.parent / "ws" / ".workspace.lock"
    if not lock.exists():
        return
    deadline = time.monotonic() + timeout
    with lock.open("a") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fh, fcntl.LOCK_UN)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.05)


def last_outcome(config: Path) -> str:
    """What the newest ``riskwatch run`` decided (``runs --json``), for the notes."""
    wait_for_report(config)
    try:
        runs = json.loads(setup(rw(config, "runs", "--json"), "runs"))
        return str(runs[0].get("outcome") or runs[0].get("status"))
    except (RuntimeError, ValueError, IndexError, KeyError, TypeError) as exc:
        return f"outcome unknown ({exc})"


def champion(config: Path) -> str:
    try:
        out = json.loads(setup(rw(config, "models", "--json"), "models"))
    except (RuntimeError, ValueError) as exc:
        return f"unknown ({exc})"
    models = out.get("models", out) if isinstance(out, dict) else out
    for m in models if isinstance(models, list) else []:
        if "champion" in (m.get("aliases") or []):
            return f"v{m.get('version')} {m.get('kind') or ''}".strip()
    return "none"


def course_project(dest: Path, files: list[Path], evaluation: Path, *, run: bool = True) -> Path:
    """The course setup (examples/course.toml) on ``files``; one untimed ``run`` makes a champion."""
    (dest / "in").mkdir(parents=True, exist_ok=True)
    for f in files:
        (dest / "in" / f.name).write_bytes(f.read_bytes())
    config = dest / "riskwatch.toml"
    config.write_text(COURSE_CONFIG.format(evaluation=evaluation))
    if run:
        setup(rw(config, "run"), f"{dest}: riskwatch run")
    return config


def demo_project(dest: Path, months: list[pd.DataFrame], model: str) -> Path:
    """The demo population fed by a drop folder, ``months`` ingested, one untimed ``run``."""
    (dest / "incoming").mkdir(parents=True, exist_ok=True)
    for i, batch in enumerate(months):
        batch.to_csv(dest / "incoming" / f"month-{i + 1:02d}.csv", index=False)
    config = dest / "riskwatch.toml"
    config.write_text(DEMO_PROJECT + f'[training]\nmodel = "{model}"\n')
    setup(rw(config, "run"), f"{dest}: riskwatch run")
    return config


def demo_months(clients: int, months: int, seed: int) -> list[pd.DataFrame]:
    from riskwatch.demo import DemoSpec, generate, month_batches

    return month_batches(generate(DemoSpec(clients=clients, months=months, seed=seed)))


def demo_rows(rows: int, seed: int) -> pd.DataFrame:
    """``rows`` demo snapshots (a population of rows/4 clients over 4 months)."""
    from riskwatch.demo import DemoSpec, generate

    frame = generate(DemoSpec(clients=max(10, -(-rows // 4)), months=4, seed=seed))
    return frame.head(rows).reset_index(drop=True)


def course_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """Course columns, ~3% duplicated rows (bench/ingest.py's generator)."""
    if not path.exists():
        make_csv(path, rows, seed)
    return path


def records_body(frame: pd.DataFrame, drop: tuple[str, ...]) -> bytes:
    """A POST /prediction body for riskwatch: ``{"records": [...]}`` without label/date columns."""
    rows = frame.drop(columns=[c for c in drop if c in frame.columns])
    return json.dumps({"records": json.loads(rows.to_json(orient="records"))}).encode()

"""Whole-process times of ``riskwatch run`` on the 10,000-client demo, beside a course-style script.

Cases (each timed as a whole process, start-up included, on a fresh copy of a prepared project):
  nothing new                  - a run with no new data
  new batch, no drift          - one more month of the same population
  new batch, drift, retrain    - one more month after the attrition pattern changed

Usage: python bench/run.py [--clients 10000] [--months 6] [--runs 5]
Writes the "run" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

from _results import DEMO_PROJECT, PYTHON, Timing, header, run_timed, table, write_section

from riskwatch.demo import DemoSpec, generate, month_batches

CONFIG = DEMO_PROJECT + '[training]\nmodel = "auto"\n'
COURSE = Path(__file__).with_name("course_style.py")


def write_months(folder: Path, batches: list, upto: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, batch in enumerate(batches[:upto]):
        batch.to_csv(folder / f"month-{i + 1:02d}.csv", index=False)


def prepare(root: Path, clients: int, months: int) -> dict[str, list]:
    """A project with ``months`` months ingested and a champion, for riskwatch and the course script."""
    plain = month_batches(generate(DemoSpec(clients=clients, months=months + 1, seed=1)))
    drifted = month_batches(
        generate(DemoSpec(clients=clients, months=months + 1, drift_month=months + 1, seed=1))
    )
    base = root / "base"
    write_months(base / "incoming", plain, months)
    (base / "riskwatch.toml").write_text(CONFIG)
    run_timed([PYTHON, "-m", "riskwatch", "--config", str(base / "riskwatch.toml"), "run"])
    run_timed(
        [PYTHON, str(COURSE), str(base / "incoming"), str(base / "course"), "exited", "corporation"]
    )
    return {"plain": plain, "drifted": drifted}


def trial(
    root: Path, n: int, extra: object | None, months: int, course: bool
) -> tuple[float, float]:
    work = root / f"trial-{n}"
    shutil.copytree(root / "base", work)
    if extra is not None:
        extra.to_csv(work / "incoming" / f"month-{months + 1:02d}.csv", index=False)  # type: ignore[attr-defined]
    if course:
        cmd = [
            PYTHON,
            str(COURSE),
            str(work / "incoming"),
            str(work / "course"),
            "exited",
            "corporation",
        ]
    else:
        cmd = [PYTHON, "-m", "riskwatch", "--config", str(work / "riskwatch.toml"), "run"]
    result = run_timed(cmd)
    shutil.rmtree(work)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="rw-bench-run-") as tmp:
        root = Path(tmp)
        batches = prepare(root, args.clients, args.months)
        cases = [
            ("nothing new", None),
            ("new batch, no drift", batches["plain"][args.months]),
            ("new batch, drift, retrain", batches["drifted"][args.months]),
        ]
        n = 0
        for label, extra in cases:
            for course in (False, True):
                seconds, peaks = [], []
                for _ in range(args.runs):  # interleaved would be fairer; each case is short
                    n += 1
                    s, mb = trial(root, n, extra, args.months, course)
                    seconds.append(s)
                    peaks.append(mb)
                who = "course-style script" if course else "riskwatch run"
                rows.append(Timing(f"{label}: {who}", "see bench/run.py", seconds, peaks))
                print(
                    f"{label:<28} {who:<20} median {sorted(seconds)[len(seconds) // 2]:.3f} s",
                    flush=True,
                )
    lines = [
        header(
            "Whole process: riskwatch run vs a course-style script",
            f"python bench/run.py --clients {args.clients} --months {args.months} --runs {args.runs}",
        )
    ]
    lines.append(
        f"{args.clients} demo clients, {args.months} months ingested before each case; each case "
        "runs on a fresh copy of the prepared project. riskwatch also writes diagnostics, a report "
        "(HTML+PDF+PNGs) and the API-style output whenever data is new; the course-style script "
        "does not.\n"
    )
    lines.append(table(rows))
    for label, _ in (
        ("nothing new", 0),
        ("new batch, no drift", 0),
        ("new batch, drift, retrain", 0),
    ):
        ours = next(r for r in rows if r.label == f"{label}: riskwatch run")
        theirs = next(r for r in rows if r.label == f"{label}: course-style script")
        lines.append(
            f"\n- {label}: riskwatch / course-style = {ours.median_s / theirs.median_s:.2f}"
        )
    write_section("run", "\n".join(lines))


if __name__ == "__main__":
    main()

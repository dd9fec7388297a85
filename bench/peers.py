"""Side by side: riskwatch and the two public course solutions, interleaved, whole processes (issue 15).

P1 = ChristopherCochet/dynamic_customer_churn_risk_assessment_pipeline and
P2 = Udacity-ML-DevOps-Engineer/Build-Dynamic-Churn-Risk-Assessment-System (public GitHub).
Nothing of theirs is stored here: at run time their sources are unpacked from fetched bare git
directories (``git archive HEAD``) into bench/.work, their ``config.json`` paths are pointed at the
generated data, and their scripts run unchanged in bench/.work/peers-venv (bench/peers/requirements.txt,
installed from PyPI on first use). Without a snapshot a peer's columns are left empty and the
output says how to fetch it.

Every row of the issue's table is measured as whole processes (interpreter start-up included),
interleaved (riskwatch, P1, P2, floor, riskwatch, ...), median of ``--runs`` runs, peak RSS from
``os.wait4``; /proc/loadavg is read before and after each row. The table (ratios riskwatch/peer and
riskwatch/goal) goes to the "peers" section of bench/RESULTS.md.

Usage (from the repository root, in its virtualenv; ``make .venv/.dev`` first):
    .venv/bin/python bench/peers.py                      # the whole table, 5 runs (about an hour)
    .venv/bin/python bench/peers.py --rows 1,2,6 --runs 3
    .venv/bin/python bench/peers.py --scale 0.01 --runs 2 --results /tmp/peers.md   # smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "peers"))

import _results  # noqa: E402
import peer_batch_rows as rows_batch  # noqa: E402
import peer_env as pe  # noqa: E402
import peer_monitor_rows as rows_monitor  # noqa: E402
import peer_rows as rows_run  # noqa: E402
import peer_serve_rows as rows_serve  # noqa: E402
from peer_bench import Bench, Sizes  # noqa: E402
from peer_measure import Latency, Series, busiest, loadavg  # noqa: E402
from peer_rows import Row  # noqa: E402

ROWS: dict[int, tuple[str, Callable[[Bench], list[Row]]]] = {
    1: ("cron tick, nothing new", rows_run.row_1),
    2: ("one new course CSV, whole run", rows_run.row_2),
    3: ("ingest 1M rows (course schema, 3% dup.)", rows_batch.row_3),
    4: ("train 1M rows (course preset)", rows_batch.row_4),
    5: ("batch predict 1M clients", rows_batch.row_5),
    6: ("POST /prediction 1 client, course model", rows_serve.row_6),
    7: ("same, demo gradient-boosting champion, other core busy", rows_serve.row_7),
    8: ("riskwatch drift -i vs Evidently, 10k/100k/1M rows", rows_monitor.row_8),
    9: ("POST /prediction 1,000 clients", rows_serve.row_9),
    10: ("training gradient boosting, other core busy", rows_monitor.row_10),
}
COLUMNS = ("riskwatch", "P1", "P2", "floor")


def say(text: str) -> None:
    print(text, flush=True)


def parse_rows(text: str) -> list[int]:
    try:
        wanted = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise SystemExit(f"--rows: expected numbers like 1,2,6, got {text!r}") from None
    bad = [r for r in wanted if r not in ROWS]
    if bad or not wanted:
        raise SystemExit(f"--rows: rows are 1-{max(ROWS)}, got {text!r}")
    return wanted


def ratio(a: Series | Latency | None, b: Series | Latency | None) -> str:
    if a is None or b is None or not a.ok or not b.ok or b.median <= 0:
        return ""
    return f"{a.median / b.median:.2f}"


def goal_cell(row: Row, scale: float) -> str:
    rw = row.cols.get("riskwatch")
    if rw is None or not rw.ok or not row.goal:
        return ""
    if row.sized and scale != 1:
        return "n/a (goal is for scale 1)"
    r = rw.median / row.goal
    text = f"{r:.2f} {'met' if r <= 1 else 'NOT met'}"
    if row.p50_goal and isinstance(rw, Latency):
        m = rw.median_p50 / row.p50_goal
        text += f"; p50 {m:.2f} {'met' if m <= 1 else 'NOT met'}"
    if row.mem_goal and isinstance(rw, Series):
        m = rw.peak / row.mem_goal
        text += f"; memory {m:.2f} {'met' if m <= 1 else 'NOT met'}"
    return text


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in ("numpy", "pandas", "scikit-learn", "pyarrow", "fastapi", "uvicorn"):
        with contextlib.suppress(PackageNotFoundError):
            out.append(f"{name} {version(name)}")
    return ", ".join(out)


def peer_versions() -> str:
    pins = [
        line.split("#")[0].strip()
        for line in pe.REQUIREMENTS.read_text().splitlines()
        if "==" in line.split("#")[0]
    ]
    return ", ".join(p.replace("==", " ") for p in pins)


def render(results: list[Row], b: Bench, command: str, started: str) -> str:
    lines = [
        _results.header("Side by side: riskwatch, the two course solutions and the floor", command)
    ]
    for peer in b.peers.values():
        lines.append(f"- {peer.describe()}")
    for name, why in b.skipped.items():
        lines.append(f"- {name}: columns empty: {why}")
    lines += [
        "",
        "Peers are unpacked at run time from fetched snapshots and run unchanged (only the paths in their "
        "config.json point at the generated data) in bench/.work/peers-venv (bench/peers/requirements.txt); "
        "nothing of theirs is stored in this repository. Whole processes, interleaved (riskwatch, P1, P2, "
        "floor, riskwatch, ...), medians of the runs shown; latencies are the medians of each run's p50/p99. "
        "Ratios are riskwatch / column (below 1 = riskwatch faster); rw/goal uses the p99 for latencies and "
        "is 'met' at <= 1.",
        f"riskwatch's environment: {versions()}; the peers' and Evidently's: {peer_versions()}.",
        f"At start: load {started}.",
    ]
    if b.sizes.scale != 1:
        lines.append(
            f"\n**Scale {b.sizes.scale:g}: sizes are scaled and the goals of size-dependent rows are not "
            "compared: a smoke test, not the benchmark.**"
        )
    lines += [
        "",
        "| row | work | riskwatch | P1 | P2 | floor / reference | goal | rw/P1 | rw/P2 | rw/floor | rw/goal | runs | load before -> after |",
        "|---|---|---|---|---|---|---|---:|---:|---:|---|---:|---|",
    ]
    for row in results:
        cells = [row.cols[c].cell(row.memory) if c in row.cols else "" for c in COLUMNS]
        rw = row.cols.get("riskwatch")
        lines.append(
            f"| {row.key} | {row.work} | " + " | ".join(cells) + f" | {row.goal_text} | "
            f"{ratio(rw, row.cols.get('P1'))} | {ratio(rw, row.cols.get('P2'))} | "
            f"{ratio(rw, row.cols.get('floor'))} | {goal_cell(row, b.sizes.scale)} | {row.runs} | {row.load} |"
        )
    lines += ["", "How each cell was measured:", ""]
    for row in results:
        parts = [f"**{row.key}**", *row.notes]
        for col in COLUMNS:
            s = row.cols.get(col)
            if s is None:
                continue
            extra = f" ({'; '.join(s.notes)})" if s.notes else ""
            fail = f" FAILED: {s.failure}" if s.failure else ""
            parts.append(f"{col}: `{s.command}`{extra}{fail}")
        lines.append("- " + "; ".join(parts))
    unmet = [r for r in results if "NOT met" in goal_cell(r, b.sizes.scale)]
    if unmet:
        lines += ["", "Goals not met:"]
        for r in unmet:
            fl = r.cols.get("floor")
            floor = f"; floor {fl.cell(r.memory)}" if fl is not None and fl.ok else ""
            lines.append(
                f"- row {r.key} ({r.work}): riskwatch {r.cols['riskwatch'].cell(r.memory)}, goal {r.goal_text}{floor}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", default=",".join(str(r) for r in ROWS), help="e.g. 1,2,6 (default: all)"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="size factor (0.01 for a smoke run)"
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="runs per cell (slowest rows use at most 3)"
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds before one process is killed"
    )
    parser.add_argument(
        "--p1", type=Path, help="bare git directory of P1 (default: the fetch location)"
    )
    parser.add_argument(
        "--p2", type=Path, help="bare git directory of P2 (default: the fetch location)"
    )
    parser.add_argument("--peers-venv", type=Path, default=HERE / ".work" / "peers-venv")
    parser.add_argument(
        "--course-data",
        type=Path,
        default=HERE.parent.parent / "shared" / "data" / "course-starter",
    )
    parser.add_argument("--busy-pin", type=int, help="pin the busy-loop process to this CPU")
    parser.add_argument(
        "--results", type=Path, default=_results.RESULTS, help="Markdown file to update"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (bench/.work/peers-run-*)"
    )
    args = parser.parse_args()
    wanted = parse_rows(args.rows)
    if args.runs < 1 or args.scale <= 0:
        raise SystemExit("--runs must be >= 1 and --scale > 0")
    if not (args.course_data / "practicedata").is_dir():
        raise SystemExit(f"{args.course_data}: course starter data not found (--course-data)")
    root = HERE / ".work" / f"peers-run-{time.strftime('%Y%m%d-%H%M%S')}"
    root.mkdir(parents=True)
    (root / "data").mkdir()
    started = f"{loadavg()}; busiest processes: {busiest()}"
    say(f"{_results.machine()}\nload {started}\nwork folder {root}")
    peers, skipped = {}, {}
    for name, explicit in (("P1", args.p1), ("P2", args.p2)):
        mirror = pe.find_mirror(name, explicit)
        if mirror is None:
            skipped[name] = pe.how_to_fetch(name)
            say(skipped[name])
            continue
        peers[name] = pe.unpack(name, mirror, root / "peers" / name)
        say(peers[name].describe())
    venv: Path | None = None
    if peers or 8 in wanted:
        try:
            pe.ensure_venv(args.peers_venv, say)
            venv = args.peers_venv
        except (subprocess.CalledProcessError, OSError) as exc:
            err = getattr(exc, "stderr", b"") or b""
            why = f"peers' environment not installed: {exc} {err.decode(errors='replace')[-300:]}"
            say(why)
            skipped.update({n: why for n in peers})
            peers = {}
    b = Bench(
        root,
        Sizes(args.scale),
        args.runs,
        args.timeout,
        peers,
        skipped,
        venv,
        args.course_data,
        say,
        args.busy_pin,
    )
    results: list[Row] = []
    try:
        for r in wanted:
            title, fn = ROWS[r]
            before = loadavg()
            say(f"row {r}: {title} (load {before})")
            try:
                got = fn(b)
            except Exception as exc:  # one broken row must not lose an hour of others
                traceback.print_exc()
                say(f"  row {r} not measured: {exc}")
                got = [
                    Row(
                        str(r),
                        title,
                        {},
                        None,
                        "",
                        notes=[f"not measured: {' '.join(str(exc).split())[:300]}"],
                    )
                ]
            after = loadavg()
            for row in got:
                row.load = f"{before} -> {after}"
            results += got
    finally:
        b.close()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    command = "python bench/peers.py " + " ".join(sys.argv[1:])
    body = render(results, b, command.strip(), started)
    _results.RESULTS = args.results
    _results.write_section("peers", body)
    say("\n" + body + f"\n\nwritten to the 'peers' section of {args.results}")


if __name__ == "__main__":
    main()

"""Rows 6, 7 and 9: POST /prediction latency against real servers on loopback.

Servers run side by side for the whole row (riskwatch serve; each peer's Flask app under
gunicorn, one sync worker, from its own wsgi.py). Each run sends ``n`` sequential requests to each
server in turn (A, P1, P2, A, ...) on one keep-alive connection (gunicorn's sync worker closes it
after each answer, so the peers pay a new connection per request, as their users would);
20 warm-up requests first. The figures are the medians over runs of each run's p50 and p99.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pandas as pd
import peer_projects as pp
from peer_bench import Bench
from peer_http import Server, latencies, pct
from peer_measure import BusyCore, Failed, Latency
from peer_rows import Row

Target = tuple[str, Server, bytes | None, str]  # column, server, riskwatch body, shown command
SERVER_NOTE = "sequential requests, one client, keep-alive where the server allows it; 20 warm-up requests per run"


def _series(
    b: Bench,
    targets: list[Target],
    n: int,
    rows: int,
    busy: bool = False,
) -> dict[str, Latency]:
    """Interleaved runs over ``targets`` (column, server, riskwatch body or None, shown command)."""
    out = {col: Latency(shown) for col, _, _, shown in targets}
    for i in range(b.runs):
        parts = []
        for col, server, body, _ in targets:
            lat = out[col]
            if lat.failure:
                continue
            if body is not None:
                server.body = body
            ctx: AbstractContextManager[object] = BusyCore(b.busy_pin) if busy else nullcontext()
            try:
                with ctx:
                    values = latencies(server, n, rows)
            except (Failed, OSError) as exc:
                lat.failure = " ".join(str(exc).split())[:300]
                parts.append(f"{col} FAILED ({lat.failure})")
                continue
            lat.p50.append(pct(values, 0.5))
            lat.p99.append(pct(values, 0.99))
            lat.requests += len(values)
            parts.append(f"{col} p50 {lat.p50[-1]:.1f} p99 {lat.p99[-1]:.1f} ms")
        b.say(f"    run {i + 1}/{b.runs}: " + ", ".join(parts))
    for lat in out.values():
        lat.notes.append(f"{lat.requests} timed requests in {len(lat.p99)} runs")
    return out


def _peer_rows_file(b: Bench, rows: int) -> Path:
    """A course CSV of ``rows`` clients as ``<folder>/testdata.csv`` (P2 takes the folder)."""

    def make() -> Path:
        path = b.root / "requests" / f"rows-{rows}" / "testdata.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        if rows <= 5:
            frame = pd.read_csv(b.course_data / "testdata" / "testdata.csv").head(rows)
        else:
            big = pp.course_csv(b.root / "data" / "course-requests.csv", max(rows, 2000), seed=9)
            frame = pd.read_csv(big).head(rows)
        frame.to_csv(path, index=False)
        return path

    return b.once(("peer_rows", rows), make)


def _peer_targets(b: Bench, rows: int) -> list[Target]:
    out: list[Target] = []
    path = _peer_rows_file(b, rows)
    for name in ("P1", "P2"):
        if name not in b.peers:
            continue
        try:
            server = b.server(name)
        except (Failed, OSError, RuntimeError) as exc:
            b.say(f"  {name} server: {exc}")
            b.skipped.setdefault(name, f"server did not start: {exc}")
            continue
        b.peer_request(server, path)
        shown = (
            "GET /prediction?datafile=<csv>"
            if name == "P1"
            else 'POST /prediction {"dataset_path": <folder>}'
        )
        out.append((name, server, None, f"gunicorn -w 1 wsgi:app; {shown}"))
    return out


def _course_body(b: Bench, rows: int) -> bytes:
    frame = pd.read_csv(_peer_rows_file(b, rows))
    return pp.records_body(frame, ("exited",))


def _demo_body(b: Bench, rows: int) -> bytes:
    frame = b.once(("demo_body", rows), lambda: pp.demo_rows(rows, seed=13))
    return pp.records_body(frame, ("exited", "snapshot_date"))


def row_6(b: Bench) -> list[Row]:
    targets: list[Target] = [
        (
            "riskwatch",
            b.server("rw-course"),
            _course_body(b, 1),
            "riskwatch serve; POST /prediction {records: [1]}",
        )
    ]
    targets += _peer_targets(b, 1)
    cols = _series(b, targets, b.sizes.requests, 1)
    return [
        Row(
            "6",
            "POST /prediction 1 client, course model",
            dict(cols),
            8.0,
            "p99 <= 8 ms",
            unit="ms",
            notes=[
                SERVER_NOTE,
                "peers take a file path, not the client: each request makes them read a 1-row CSV from disk "
                "(P2 also reloads its pickle per request); P1's endpoint is GET ?datafile=",
            ],
            runs=b.runs,
        )
    ]


def row_7(b: Bench) -> list[Row]:
    """The demo gradient-boosting champion: idle and with a busy-loop process, plus OMP_NUM_THREADS=1."""
    body = _demo_body(b, 1)
    targets: list[Target] = [
        ("riskwatch", b.server("rw-gbm"), body, "riskwatch serve (gradient boosting)"),
        ("floor", b.server("rw-gbm-omp1"), body, "the same with OMP_NUM_THREADS=1"),
    ]
    rows = []
    for key, busy, what in (("7a", False, "other core idle"), ("7", True, "other core busy")):
        b.say(f"  {what}")
        cols = _series(b, targets, b.sizes.requests, 1, busy=busy)
        rows.append(
            Row(
                key,
                f"POST /prediction 1 client, demo gradient-boosting champion, {what}",
                dict(cols),
                15.0,
                "p99 <= 15 ms, busy core or not",
                unit="ms",
                notes=[
                    SERVER_NOTE,
                    "floor = the same server started with OMP_NUM_THREADS=1; busy = `python -c 'while True: pass'` "
                    + (f"pinned to CPU {b.busy_pin}" if b.busy_pin is not None else "not pinned")
                    + " during each run",
                ],
                runs=b.runs,
            )
        )
    return rows


def row_9(b: Bench) -> list[Row]:
    n = b.sizes.batch_requests
    course: list[Target] = [
        (
            "riskwatch",
            b.server("rw-course"),
            _course_body(b, 1000),
            "riskwatch serve (course model)",
        )
    ]
    course += _peer_targets(b, 1000)
    cols = _series(b, course, n, 1000)
    gbm = _series(
        b,
        [("riskwatch", b.server("rw-gbm"), _demo_body(b, 1000), "riskwatch serve (GBM)")],
        n,
        1000,
    )
    return [
        Row(
            "9",
            "POST /prediction 1,000 clients, course model",
            dict(cols),
            60.0,
            "p50 <= 20 ms, p99 <= 60 ms",
            unit="ms",
            p50_goal=20.0,
            notes=[SERVER_NOTE, "peers: a 1,000-row CSV read by path"],
            runs=b.runs,
        ),
        Row(
            "9b",
            "POST /prediction 1,000 clients, gradient boosting",
            dict(gbm),
            60.0,
            "p50 <= 20 ms, p99 <= 60 ms",
            unit="ms",
            p50_goal=20.0,
            notes=[SERVER_NOTE],
            runs=b.runs,
        ),
    ]

"""API benchmark against a real `riskwatch serve`: latency, throughput and memory under load.

Builds a demo project (10,000 clients, 3 months, one `riskwatch run`), starts the server on
loopback and measures with keep-alive connections (http.client): POST /prediction with one
client and with 1,000 clients, GET /diagnostics, throughput with concurrent clients, and the
server's RSS during a sustained load run. Writes the "api" section of bench/RESULTS.md.

Usage: python bench/api.py [--load-seconds 60] [--clients 10000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "src"))
from _results import DEMO_PROJECT, PYTHON, header, write_section

from riskwatch.demo import DemoSpec, generate, month_batches

CONFIG = DEMO_PROJECT + "[api]\nport = {port}\n"
KEY = "bench-key"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
) -> float:
    headers = {"X-API-Key": KEY, "Content-Type": "application/json"}
    t0 = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        raise SystemExit(f"{method} {path}: HTTP {resp.status}")
    return (time.perf_counter() - t0) * 1000


def series(
    conn: http.client.HTTPConnection, n: int, method: str, path: str, body: bytes | None = None
) -> list[float]:
    for _ in range(min(20, n)):
        timed(conn, method, path, body)  # warm-up
    return sorted(timed(conn, method, path, body) for _ in range(n))


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    port = 18000 + os.getpid() % 1000
    with tempfile.TemporaryDirectory(prefix="rw-bench-api-") as tmp:
        root = Path(tmp)
        (root / "incoming").mkdir()
        months = month_batches(generate(DemoSpec(clients=args.clients, months=3, seed=5)))
        for i, m in enumerate(months):
            m.to_csv(root / "incoming" / f"m{i}.csv", index=False)
        (root / "riskwatch.toml").write_text(CONFIG.format(port=port))
        env = {
            **os.environ,
            "RISKWATCH_CONFIG": str(root / "riskwatch.toml"),
            "RISKWATCH_API_KEY": KEY,
            "RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9",
        }
        subprocess.run(
            [PYTHON, "-m", "riskwatch", "run"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        server = subprocess.Popen(
            [PYTHON, "-m", "riskwatch", "serve"], env=env, stderr=subprocess.DEVNULL
        )
        try:
            for _ in range(100):
                try:
                    http.client.HTTPConnection("127.0.0.1", port, timeout=1).request(
                        "GET", "/health"
                    )
                    break
                except OSError:
                    time.sleep(0.2)
            record = months[-1].drop(columns=["exited", "snapshot_date"]).head(1000)
            one = json.dumps(
                {"records": json.loads(record.head(1).to_json(orient="records"))}
            ).encode()
            thousand = json.dumps(
                {"records": json.loads(record.to_json(orient="records"))}
            ).encode()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            single = series(conn, 1000, "POST", "/prediction", one)
            batch = series(conn, 50, "POST", "/prediction", thousand)
            diag = series(conn, 300, "GET", "/diagnostics")
            risk = series(conn, 100, "GET", "/risk?top=100")
            rss = [rss_mb(server.pid)]
            stop, counts = time.monotonic() + args.load_seconds, [0] * args.threads

            def load(i: int) -> None:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                while time.monotonic() < stop:
                    timed(c, "POST", "/prediction", one)
                    counts[i] += 1

            threads = [threading.Thread(target=load, args=(i,)) for i in range(args.threads)]
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                time.sleep(1)
                rss.append(rss_mb(server.pid))
            for t in threads:
                t.join()
        finally:
            server.terminate()
            server.wait(timeout=10)
    rows = [
        ("POST /prediction, 1 client", single),
        ("POST /prediction, 1,000 clients", batch),
        ("GET /diagnostics", diag),
        ("GET /risk?top=100", risk),
    ]
    lines = [
        header(
            "API latency, throughput and memory (real riskwatch serve)",
            "python bench/api.py " + " ".join(sys.argv[1:]),
        ),
        f"Demo project with {args.clients:,} clients, champion from `riskwatch run`; sequential keep-alive requests "
        "from one client unless stated.\n",
        "| request | n | p50 ms | p99 ms | mean ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, values in rows:
        lines.append(
            f"| {label} | {len(values)} | {pct(values, 0.5):.2f} | {pct(values, 0.99):.2f} | {statistics.mean(values):.2f} |"
        )
    total = sum(counts)
    lines.append(
        f"\nThroughput: {total / args.load_seconds:.0f} requests/s (POST /prediction, 1 client) with "
        f"{args.threads} concurrent keep-alive clients over {args.load_seconds:.0f} s."
    )
    lines.append(
        f"Server RSS during that load: start {rss[0]:.0f} MB, end {rss[-1]:.0f} MB, max {max(rss):.0f} MB "
        f"({len(rss)} samples, 1 per second)."
    )
    write_section("api", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

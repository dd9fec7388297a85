"""Alerts on the demo drift scenario, to a receiver on loopback, and the nothing-new tick with alerts.

1. Months 1-6 in one `riskwatch run`, then months 7, 8, 9 one run each (DemoSpec(drift_month=7)),
   with `[alerts]` pointing at an HTTP receiver in this process (the signed webhook and Apprise's
   json:// channel, informational events on). Month 8's file first arrives broken (its id
   column misnamed, as a changed export would): the run rejects it and exits 3; with month 9 the
   file is delivered again, fixed. Prints every message received, in order, with its signature
   checked, and `riskwatch alerts`.
2. Whole-process time of a nothing-new `riskwatch run` with and without `[alerts]` (median).

Usage: python bench/alerts.py [--clients 2000] [--seed 1] [--model logistic] [--runs 5]
(The loop retrains on the drift month and promotes in the same run, so drift never stays open
across runs here: what opens and resolves is the rejected file; the promotions are the
informational events.)
Writes the "alerts" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

from _results import DEMO_PROJECT, PYTHON, header, run_timed, write_section

from riskwatch.alerts.channels import verify
from riskwatch.demo import DemoSpec, generate, month_batches

SECRET = "bench-secret"


def receiver() -> tuple[int, list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            got.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1], got


def alerts_config(port: int) -> str:
    return (
        f'[alerts]\nproject = "acme-attrition"\nbase_url = "http://127.0.0.1:8000"\n'
        "informational = true\n"
        f'channels = ["json://127.0.0.1:{port}/apprise"]\n'
        f'[alerts.webhook]\nurl = "http://127.0.0.1:{port}/riskwatch"\nsecret = "env:RW_BENCH_SECRET"\n'
    )


def riskwatch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RW_BENCH_SECRET": SECRET, "RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"}
    return subprocess.run(
        [PYTHON, "-m", "riskwatch", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", default="logistic")
    parser.add_argument("--runs", type=int, default=5)
    a = parser.parse_args()
    port, got = receiver()
    out: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "incoming").mkdir()
        config = root / "riskwatch.toml"
        config.write_text(DEMO_PROJECT + f'[training]\nmodel = "{a.model}"\n' + alerts_config(port))
        batches = month_batches(
            generate(DemoSpec(clients=a.clients, months=9, drift_month=7, seed=a.seed))
        )
        for month in range(1, 10):
            batches[month - 1].to_csv(root / "incoming" / f"month-{month:02d}.csv", index=False)
            if month == 8:  # a changed export: the id column renamed
                broken = batches[7].rename(columns={"corporation": "corporation_id"})
                broken.to_csv(root / "incoming" / "month-08.csv", index=False)
            if month == 9:  # delivered again, fixed
                batches[7].to_csv(root / "incoming" / "month-08.csv", index=False)
            if month < 6:
                continue
            done = riskwatch(config, "run", "--json", "--wait")  # the report inline: no lock held
            outcome = json.loads(done.stdout)["outcome"] if done.stdout.strip() else done.stderr
            label = "months 1-6" if month == 6 else f"month {month}"
            out.append(
                f"{label}: exit {done.returncode}: {outcome[:110]}{' ... ' + outcome[-60:] if len(outcome) > 170 else outcome[110:]}"
            )
            for r in got:
                r.setdefault("month", label)
        out.append("")
        for i, r in enumerate(got, 1):
            payload = json.loads(r["body"])
            if r["path"] == "/riskwatch":
                ok = verify(SECRET, r["headers"], r["body"])
                events = ", ".join(f"{e['event']} {e['key']}" for e in payload["events"])
                out.append(f"#{i} after {r['month']}: webhook (signature ok: {ok}): {events}")
                out.append(f"    {payload['title']}")
            else:
                out.append(
                    f"#{i} after {r['month']}: Apprise json:// ({payload['type']}): {payload['title']}"
                )
        out += ["", "$ riskwatch alerts", riskwatch(config, "alerts").stdout]
        plain = root / "plain.toml"
        plain.write_text(DEMO_PROJECT + f'[training]\nmodel = "{a.model}"\n')
        # bytecode cached as in a normal installation (this sandbox sets PYTHONDONTWRITEBYTECODE)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(RW_BENCH_SECRET=SECRET, PYTHONPYCACHEPREFIX=str(root / "pycache"))
        times: dict[str, list[float]] = {"with [alerts]": [], "without": []}
        for cfg in (config, plain):  # warm-up: compile and cache the bytecode
            run_timed([PYTHON, "-m", "riskwatch", "--config", str(cfg), "run"], env=env)
        for _ in range(a.runs):
            for label, cfg in (("with [alerts]", config), ("without", plain)):
                cmd = [PYTHON, "-m", "riskwatch", "--config", str(cfg), "run"]
                times[label].append(run_timed(cmd, env=env)[0])
        for label, ts in times.items():
            out.append(
                f"nothing-new `riskwatch run`, {label}: median {statistics.median(ts):.3f} s "
                f"of {len(ts)} ({', '.join(f'{t:.2f}' for t in ts)})"
            )
    text = "\n".join(out)
    print(text)
    body = header("Alerts on the demo drift scenario", "python bench/alerts.py")
    write_section("alerts", body + "\n```\n" + text.strip() + "\n```\n")


if __name__ == "__main__":
    main()

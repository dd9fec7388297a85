"""Servers on loopback and sequential-request latency, for the API rows of bench/peers.py."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from peer_measure import Failed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """A server process on loopback and how to send it the benchmark's request."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    method: str
    path: str
    body: bytes | None
    headers: dict[str, str]

    def wait_ready(self, seconds: float = 120.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failed(f"{self.name} exited with {self.proc.returncode} while starting")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.2)
        raise Failed(f"{self.name} did not answer on port {self.port} within {seconds:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start_server(
    name: str,
    cmd: list[str],
    *,
    port: int,
    request: tuple[str, str, bytes | None, dict[str, str]],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log: Path | None = None,
) -> Server:
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - the server keeps it
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=out, start_new_session=True)
    method, path, body, headers = request
    return Server(name, proc, port, method, path, body, headers)


def answered(payload: bytes) -> int:
    """How many predictions an answer holds (riskwatch: ``predictions``; the peers: a JSON list)."""
    data = json.loads(payload)
    return len(data["predictions"] if isinstance(data, dict) else data)


def latencies(
    server: Server, n: int, rows: int, warmup: int = 20, budget: float = 60.0
) -> list[float]:
    """``n`` sequential requests on one keep-alive connection (reopened if the server closes it).

    The first answer must hold ``rows`` predictions, so a server answering something else fails.
    A run stops early after ``budget`` seconds (at least 20 timed requests): a server taking a
    second per answer would otherwise hold a run for many minutes.
    """
    began = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    out = []
    try:
        for k in range(warmup + n):
            t0 = time.perf_counter()
            conn.request(server.method, server.path, body=server.body, headers=server.headers)
            resp = conn.getresponse()
            payload = resp.read()
            ms = (time.perf_counter() - t0) * 1000
            if resp.status != 200:
                raise Failed(f"{server.name}: HTTP {resp.status}: {payload[:200]!r}")
            if k == 0 and answered(payload) != rows:
                raise Failed(f"{server.name}: {answered(payload)} predictions for {rows} clients")
            if k >= warmup:
                out.append(ms)
                if len(out) >= 20 and time.monotonic() - began > budget:
                    break
    finally:
        conn.close()
    return sorted(out)


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]

"""Shared fixtures: a course-style project and a PostgreSQL database per test."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import COURSE, PG_URL, course_contract, demo_contract, write_config


@pytest.fixture
def course_project(tmp_path: Path) -> Path:
    """A folder with a drop folder ``incoming`` (empty) and a course config; returns the config."""
    (tmp_path / "incoming").mkdir()
    return write_config(
        tmp_path,
        {
            "workspace": {"path": "ws"},
            "contract": course_contract(),
            "sources": {"drop": {"kind": "folder", "path": "incoming", "settle_seconds": 0}},
        },
    )


def drop(config: Path, *files: Path, sub: str = "") -> None:
    """Copy course files into the project's drop folder."""
    target = config.parent / "incoming" / sub
    target.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, target / f.name)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the real PostgreSQL server; skips only if the server is absent."""
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL server not reachable at 127.0.0.1:5432 ({exc})")
    schema = f"rw_{uuid.uuid4().hex[:10]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


COURSE_DIR = COURSE


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo project after one real `riskwatch run` (a champion, a report, diagnostics)."""
    from riskwatch.demo import DemoSpec, generate, month_batches
    from tests.helpers import run_cli

    root = tmp_path_factory.mktemp("demo")
    (root / "incoming").mkdir()
    for i, batch in enumerate(month_batches(generate(DemoSpec(clients=1500, months=3, seed=4)))):
        batch.to_csv(root / "incoming" / f"month-{i + 1}.csv", index=False)
    config = write_config(
        root,
        {
            "workspace": {"path": "ws"},
            "contract": demo_contract(),
            "sources": {"drop": {"kind": "folder", "path": "incoming", "settle_seconds": 0}},
            "training": {"model": "logistic"},
        },
    )
    done = run_cli("run", config=config, env={"RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"})
    assert done.returncode == 0, done.stderr
    return config


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(demo_project: Path) -> Iterator[str]:
    """A real `riskwatch serve` process on loopback (API key 'test-key'); yields its base URL."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    env = {**os.environ, "RISKWATCH_CONFIG": str(demo_project), "RISKWATCH_API_KEY": "test-key"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "riskwatch", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                proc.kill()
                pytest.fail(f"riskwatch serve did not start: {err}")
            time.sleep(0.2)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def crontab() -> Iterator[str]:
    """The real ``crontab`` binary; the user's crontab is saved and restored around the test."""
    binary = shutil.which("crontab")
    if binary is None:
        pytest.skip("crontab is not installed (Debian package 'cron'; .ci/run installs it)")
    saved = subprocess.run([binary, "-l"], capture_output=True, text=True, check=False)
    try:
        yield binary
    finally:
        if saved.returncode == 0:
            subprocess.run([binary, "-"], input=saved.stdout, text=True, check=True)
        else:
            subprocess.run([binary, "-r"], capture_output=True, check=False)

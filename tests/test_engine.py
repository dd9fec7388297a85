"""The dask engine on a real cluster: a scheduler and two worker processes on loopback.

``.ci/run`` starts the cluster and names it in ``RISKWATCH_TEST_DASK_SCHEDULER``; without it the
session starts its own (the same commands). S3 inputs are read from moto's S3-compatible server
on loopback. Same config, same answers: a file scored by ``local`` and by ``dask`` gives the same
risks to 1e-9.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import free_port
from tests.helpers import run_cli

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None,
    reason="the 'dask' extra (dask, distributed) is not installed",
)


SCHEDULER = ["--host", "127.0.0.1", "--no-dashboard"]
WORKER = ["--nthreads", "1", "--memory-limit", "1GiB", "--no-dashboard"]


def _wait_for_workers(address: str, n: int, timeout: float = 60) -> None:
    from distributed import Client

    with Client(address, timeout=timeout) as client:
        client.wait_for_workers(n, timeout=timeout)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The scheduler address of a real cluster with two 1-thread workers."""
    given = os.environ.get("RISKWATCH_TEST_DASK_SCHEDULER")
    if given:
        _wait_for_workers(given, 2)
        yield given
        return
    logs = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", *SCHEDULER, "--port", port],
            stdout=subprocess.DEVNULL,
            stderr=(logs / "scheduler.log").open("w"),
        )
    ]
    try:
        time.sleep(1)
        for i in (1, 2):
            worker = [*WORKER, "--name", f"test-worker-{i}"]
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "distributed.cli.dask_worker", address, *worker],
                    stdout=subprocess.DEVNULL,
                    stderr=(logs / f"worker-{i}.log").open("w"),
                )
            )
        _wait_for_workers(address, 2)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _engine_config(demo_project: Path, name: str, engine: dict[str, Any]) -> Path:
    """The demo project's config with an [engine] section, beside it (same workspace)."""
    text = demo_project.read_text(encoding="utf-8")
    lines = ["", "[engine]"]
    for key, value in engine.items():
        if isinstance(value, dict):
            continue
        lines.append(f"{key} = {json.dumps(value)}")
    for key, value in engine.items():
        if isinstance(value, dict):
            lines.append(f"[engine.{key}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in value.items()]
    path = demo_project.parent / name
    path.write_text(text + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _predict(config: Path, source: str, out: Path) -> pd.DataFrame:
    done = run_cli("predict", "-i", source, "-o", str(out), config=config)
    assert done.returncode == 0, done.stderr
    return pd.read_csv(out, dtype={"id": "string"})


def _same(local: pd.DataFrame, remote: pd.DataFrame) -> None:
    assert len(local) == len(remote) > 0
    assert list(local["id"]) == list(remote["id"])  # the same ranking
    assert (local["rank"] == remote["rank"]).all()
    assert (local["risk"] - remote["risk"]).abs().max() <= 1e-9
    if "value_at_risk" in local:
        assert (local["value_at_risk"] - remote["value_at_risk"]).abs().max() <= 1e-6


def test_cluster_check_lists_the_workers_and_their_versions(cluster: str) -> None:
    done = run_cli("cluster", "check", "--address", cluster, "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert len(info["workers"]) >= 2 and info["threads"] >= 2
    assert all(w["memory_limit"] > 0 for w in info["workers"])
    assert info["mismatches"] == [] and info["versions"]["scikit-learn"]


def test_a_worker_with_other_versions_is_named(
    cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client

    from riskwatch.engine import cluster as engine

    real = engine.local_versions
    monkeypatch.setattr(engine, "local_versions", lambda: {**real(), "scikit-learn": "0.0"})
    with Client(cluster, timeout=20) as client:
        info = engine.check(client)
    assert info.mismatches and all("scikit-learn" in m for m in info.mismatches)
    assert "(here 0.0)" in info.mismatches[0]


def test_same_scores_from_the_local_and_the_dask_engine(
    demo_project: Path, cluster: str, tmp_path: Path
) -> None:
    source = demo_project.parent / "incoming" / "month-3.csv"
    local = _predict(demo_project, str(source), tmp_path / "local.csv")
    # small blocks: many partitions, each scored by a worker
    remote_cfg = _engine_config(
        demo_project, "dask.toml", {"kind": "dask", "address": cluster, "blocksize": "16KiB"}
    )
    remote = _predict(remote_cfg, str(source), tmp_path / "dask.csv")
    _same(local, remote)
    parquet = tmp_path / "clients.parquet"
    pd.read_csv(source, dtype={"corporation": "string"}).to_parquet(parquet, row_group_size=300)
    _same(local, _predict(remote_cfg, str(parquet), tmp_path / "dask-parquet.csv"))


def test_a_bad_cell_in_a_late_partition_is_one_line_and_writes_nothing(
    demo_project: Path, cluster: str, tmp_path: Path
) -> None:
    frame = pd.read_csv(demo_project.parent / "incoming" / "month-3.csv", dtype=str)
    numeric = "lastmonth_activity"
    frame.loc[len(frame) - 5, numeric] = "inf"
    source = tmp_path / "bad.csv"
    frame.to_csv(source, index=False)
    config = _engine_config(
        demo_project, "dask-bad.toml", {"kind": "dask", "address": cluster, "blocksize": "16KiB"}
    )
    out = tmp_path / "scores.csv"
    done = run_cli("predict", "-i", str(source), "-o", str(out), config=config)
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert numeric in lines[0] and "partition" in lines[0] and "bad.csv" in lines[0]
    assert not out.exists()


def test_an_unreachable_scheduler_is_one_line_and_exit_4(
    demo_project: Path, tmp_path: Path
) -> None:
    config = _engine_config(
        demo_project,
        "dask-down.toml",
        {"kind": "dask", "address": f"tcp://127.0.0.1:{free_port()}", "connect_timeout_seconds": 1},
    )
    out = tmp_path / "scores.csv"
    source = demo_project.parent / "incoming" / "month-3.csv"
    done = run_cli("predict", "-i", str(source), "-o", str(out), config=config)
    assert done.returncode == 4, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "unreachable" in done.stderr
    assert not out.exists()
    check = run_cli("cluster", "check", config=config)
    assert check.returncode == 4 and "unreachable" in check.stderr


def test_a_dask_engine_without_an_address_is_a_config_error(demo_project: Path) -> None:
    config = _engine_config(demo_project, "dask-none.toml", {"kind": "dask"})
    done = run_cli("cluster", "check", config=config)
    assert done.returncode == 2 and "address" in done.stderr


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3-compatible server on loopback; yields its endpoint URL."""
    if importlib.util.find_spec("moto") is None:
        pytest.skip("moto (dev dependency) is not installed")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_an_s3_input_is_read_by_the_workers(
    demo_project: Path, cluster: str, s3_server: str, tmp_path: Path
) -> None:
    import s3fs

    options = {"endpoint_url": s3_server, "key": "testing", "secret": "testing"}
    fs = s3fs.S3FileSystem(**options)
    fs.mkdir("riskwatch-test")
    source = demo_project.parent / "incoming" / "month-3.csv"
    fs.put(str(source), "riskwatch-test/clients/month-3.csv")
    local = _predict(demo_project, str(source), tmp_path / "local.csv")
    config = _engine_config(
        demo_project,
        "dask-s3.toml",
        {"kind": "dask", "address": cluster, "blocksize": "32KiB", "storage_options": options},
    )
    remote = _predict(config, "s3://riskwatch-test/clients/*.csv", tmp_path / "s3.csv")
    _same(local, remote)
    missing = run_cli(
        "predict",
        "-i",
        "s3://riskwatch-test/nope.csv",
        "-o",
        str(tmp_path / "x.csv"),
        config=config,
    )
    assert missing.returncode == 6 and len(missing.stderr.strip().splitlines()) == 1, missing.stderr


def test_a_url_with_the_local_engine_is_refused_in_one_line(
    demo_project: Path, tmp_path: Path
) -> None:
    done = run_cli(
        "predict",
        "-i",
        "s3://bucket/clients.csv",
        "-o",
        str(tmp_path / "x.csv"),
        config=demo_project,
    )
    assert done.returncode == 2 and "engine" in done.stderr

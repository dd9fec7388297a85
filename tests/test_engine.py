"""The dask engine on a real cluster: a scheduler and two worker processes on loopback.

``.ci/run`` starts the cluster and names it in ``RISKWATCH_TEST_DASK_SCHEDULER``; without it the
session starts its own (the same commands). S3 inputs are read from moto's S3-compatible server
on loopback. Same config, same answers: a file scored by ``local`` and by ``dask`` gives the same
risks to 1e-9.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import free_port
from tests.helpers import run_cli, small_schema

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None,
    reason="the 'dask' extra (dask, distributed) is not installed",
)


RISKWATCH = [sys.executable, "-m", "riskwatch"]
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
    """The same clients with the same risks (1e-9) and the same ranking up to exact ties."""
    assert len(local) == len(remote) > 0 and remote["id"].is_unique
    both = local.merge(remote, on="id", suffixes=("", "_dask"), validate="one_to_one")
    assert len(both) == len(local)
    assert (both["risk"] - both["risk_dask"]).abs().max() <= 1e-9
    if "value_at_risk" in local:
        assert (both["value_at_risk"] - both["value_at_risk_dask"]).abs().max() <= 1e-6
    # rank k holds the same risk in both lists (clients with equal risks may swap places)
    assert abs(local["risk"].to_numpy() - remote["risk"].to_numpy()).max() <= 1e-9
    assert (local["rank"].to_numpy() == remote["rank"].to_numpy()).all()


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


def _drift(config: Path, source: str) -> dict[str, Any]:
    done = run_cli("drift", "-i", source, "--json", config=config)
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def _columns(check: dict[str, Any]) -> dict[str, tuple[bool, float | None]]:
    return {c["column"]: (c["drifted"], c["statistic"]) for c in check["data"]["columns"]}


def test_drift_on_the_cluster_matches_the_local_check(
    demo_project: Path, cluster: str, tmp_path: Path
) -> None:
    """A file within sample_rows is tested whole: the same verdict and statistics as locally."""
    source = str(demo_project.parent / "incoming" / "month-3.csv")
    local = _drift(demo_project, source)
    config = _engine_config(
        demo_project, "dask-drift.toml", {"kind": "dask", "address": cluster, "blocksize": "16KiB"}
    )
    remote = _drift(config, source)
    assert remote["input"]["rows"] == remote["input"]["tested"] == local["data"]["batch_rows"]
    assert remote["verdict"] == local["verdict"]
    mine, theirs = _columns(local), _columns(remote)
    assert mine.keys() == theirs.keys() and mine
    for col, (drifted, stat) in mine.items():
        assert theirs[col][0] == drifted, col
        assert stat is None or abs(theirs[col][1] - stat) <= 1e-9, col  # type: ignore[operator]


def test_drift_on_a_large_file_tests_a_recorded_uniform_sample(
    demo_project: Path, cluster: str, tmp_path: Path
) -> None:
    frame = pd.read_csv(demo_project.parent / "incoming" / "month-3.csv", dtype=str)
    big = tmp_path / "big.csv"
    pd.concat([frame] * 4, ignore_index=True).to_csv(big, index=False)
    config = _engine_config(
        demo_project,
        "dask-sample.toml",
        {"kind": "dask", "address": cluster, "blocksize": "64KiB", "sample_rows": 1000},
    )
    first, again = _drift(config, str(big)), _drift(config, str(big))
    assert first["input"] == {"engine": "dask", "rows": 4 * len(frame), "tested": 1000}
    assert _columns(first) == _columns(again)  # seeded: the same sample each time
    text = run_cli("drift", "-i", str(big), config=config)
    assert f"uniform sample of 1000 of {4 * len(frame)} rows" in text.stdout


def test_the_model_search_runs_its_folds_on_the_cluster_with_the_same_scores(cluster: str) -> None:
    import numpy as np

    from riskwatch.config import EngineSettings, TrainingSettings
    from riskwatch.engine.search import search_jobs
    from riskwatch.model.selection import plan_for

    schema = small_schema()
    rng = np.random.default_rng(3)
    n = 1200
    X = pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.gamma(2, 1, n), "k": rng.choice(["x", "y", "z"], n)}
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-(X["a"] - 0.4 * X["b"])))).to_numpy().astype(int)
    cfg = TrainingSettings(model="auto", time_budget_seconds=600)
    results = {}
    for engine in (EngineSettings(), EngineSettings(kind="dask", address=cluster)):
        with search_jobs(engine) as (n_jobs, where):
            results[where.split()[0]] = plan_for(X, y, schema, cfg, n_jobs)
    (local_plan, local), (dask_plan, remote) = results["local"], results["dask"]
    assert local_plan == dask_plan and len(local["scores"]) >= 2
    for name, score in local["scores"].items():
        assert abs(remote["scores"][name]["roc_auc"] - score["roc_auc"]) <= 1e-12, name


@contextlib.contextmanager
def _victims() -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A private scheduler and two workers without a nanny (a killed worker stays dead):
    (address, [scheduler, victim-1, victim-2])."""
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", *SCHEDULER, "--port", port],
            **quiet,  # type: ignore[call-overload]
        )
    ]
    try:
        time.sleep(1)
        for i in (1, 2):
            worker = [*WORKER, "--no-nanny", "--name", f"victim-{i}"]
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "distributed.cli.dask_worker", address, *worker],
                    **quiet,  # type: ignore[call-overload]
                )
            )
        _wait_for_workers(address, 2)
        yield address, procs
    finally:
        for proc in reversed(procs):
            proc.kill()
            proc.wait(timeout=20)


def _kill_worker_when(
    address: str, procs: list[subprocess.Popen[bytes]], pick: Callable[[Any], str | None]
) -> None:
    """SIGKILL the worker ``pick(scheduler)`` names (victim-1 or victim-2), once it names one."""
    import signal

    from distributed import Client

    victim = 1
    with Client(address, timeout=20) as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            name = client.run_on_scheduler(lambda dask_scheduler: pick(dask_scheduler))
            if name:
                victim = int(str(name).rsplit("-", 1)[1])
                break
            time.sleep(0.05)
    procs[victim].send_signal(signal.SIGKILL)


def _champion_holder(dask_scheduler: Any) -> str | None:
    """The worker holding the champion once a window of partitions is in flight."""
    if len(dask_scheduler.tasks) <= 3:
        return None
    for ts in dask_scheduler.tasks.values():
        if str(ts.key).startswith(("held-", "LoadedModel-")):
            for ws in ts.who_has or ():
                return str(ws.name)
    return None


def _reading_a_file(dask_scheduler: Any) -> str | None:
    """A worker running an ingest task, once some file has been read (so work is lost)."""
    tasks = [ts for ts in dask_scheduler.tasks.values() if str(ts.key).startswith("ingest-")]
    if not any(ts.state == "memory" for ts in tasks):
        return None
    for ts in tasks:
        if ts.state == "processing" and ts.processing_on is not None:
            return str(ts.processing_on.name)
    return None


def test_a_worker_killed_mid_scoring_loses_nothing(demo_project: Path, tmp_path: Path) -> None:
    """SIGKILL the worker holding the champion while ``predict`` runs: its tasks and the
    champion are computed again on the other one, and the scores are those of the local engine
    (each row once)."""
    with _victims() as (address, procs):
        frame = pd.read_csv(demo_project.parent / "incoming" / "month-3.csv", dtype=str)
        big = pd.concat([frame] * 30, ignore_index=True)
        big["corporation"] = big["corporation"] + "-" + (big.index // len(frame)).astype(str)
        source = tmp_path / "many.csv"
        big.to_csv(source, index=False)
        local = _predict(demo_project, str(source), tmp_path / "local.csv")
        config = _engine_config(
            demo_project,
            "dask-kill.toml",
            {"kind": "dask", "address": address, "blocksize": "8KiB"},
        )
        out = tmp_path / "dask.csv"
        job = subprocess.Popen(
            [*RISKWATCH, "--config", str(config), "predict", "-i", str(source), "-o", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _kill_worker_when(address, procs, _champion_holder)
        still_running = job.poll() is None
        _, err = job.communicate(timeout=300)
        assert job.returncode == 0, err
        assert still_running, "predict ended before the kill: make the input larger"
        remote = pd.read_csv(out, dtype={"id": "string"})
        assert remote["id"].is_unique
        _same(local, remote)


def test_a_worker_killed_mid_ingest_ingests_each_row_once(
    demo_project: Path, tmp_path: Path
) -> None:
    """SIGKILL a worker while it reads a file: the file is read again on the other worker,
    the counts and stored rows are those of one process, and no part of the lost attempt
    stays in the workspace."""
    from tests.helpers import demo_config

    frame = pd.read_csv(demo_project.parent / "incoming" / "month-3.csv", dtype=str)
    results = []
    with _victims() as (address, procs):
        for kind in ("local", "dask"):
            root = tmp_path / kind
            (root / "incoming").mkdir(parents=True)
            for n in range(8):  # files big enough that a task is caught mid-read
                part = pd.concat([frame] * 12, ignore_index=True)
                copy = (part.index // len(frame)).astype(str)
                part["corporation"] = part["corporation"] + f"-{n}-" + copy
                part.to_csv(root / "incoming" / f"batch-{n}.csv", index=False)
                if n == 0:  # a last file repeating rows of the first
                    part.iloc[:300].to_csv(root / "incoming" / "batch-9.csv", index=False)
            engine = {"kind": kind, "address": address} if kind == "dask" else {"kind": "local"}
            sources = {  # small chunks: a file is written as many parts, some before the kill
                "drop": {
                    "kind": "folder",
                    "path": "incoming",
                    "settle_seconds": 0,
                    "chunk_rows": 1000,
                }
            }
            config = demo_config(root, sources=sources, engine=engine)
            job = subprocess.Popen(
                [*RISKWATCH, "--config", str(config), "ingest", "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            if kind == "dask":
                parts = root / "ws" / "datasets"

                def mid_file(dask_scheduler: Any, parts: Path = parts) -> str | None:
                    written = len(list(parts.glob("part-*"))) if parts.is_dir() else 0
                    return _reading_a_file(dask_scheduler) if written >= 12 else None

                _kill_worker_when(address, procs, mid_file)
                assert job.poll() is None, "ingest ended before the kill: make the files larger"
            out, err = job.communicate(timeout=600)
            assert job.returncode == 0, err
            report = json.loads(out)
            units = {
                u["unit"]: (u["status"], u["read"], u["accepted"], u["duplicate"])
                for u in report["units"]
            }
            from riskwatch.storage.datasets import seen_hashes
            from tests.helpers import open_context

            ctx = open_context(config)
            try:
                version = ctx.version
                assert version is not None
                hashes = seen_hashes(ctx.ws, version).tolist()
                on_disk = {p.name for p in ctx.ws.datasets.glob("part-*")}
                assert on_disk == {p.name for p in version.parts}  # nothing half-written kept
            finally:
                ctx.db.close()
            results.append((units, report["rows_total"], hashes))
    local, remote = results
    assert local[0]["batch-9.csv"][1:] == (300, 0, 300)  # rows of batch-0 again
    assert remote == local


def test_work_the_cluster_lost_is_a_one_line_source_error(cluster: str) -> None:
    """A cancelled task (what a lost scattered input or a dead scheduler leaves) is exit 4 in
    one line; a task's own error is raised as it is."""
    from distributed import Client

    from riskwatch.config import EngineSettings
    from riskwatch.engine.cluster import gathered
    from riskwatch.errors import SourceUnavailable

    engine = EngineSettings(kind="dask", address=cluster)
    with Client(cluster, timeout=20) as client:
        slow = client.submit(time.sleep, 30, pure=False)
        slow.cancel()
        with pytest.raises(SourceUnavailable, match=r"lost the work \(FutureCancelledError"):
            gathered(client, [slow], engine)
        bad = client.submit(int, "x", pure=False)
        with pytest.raises(ValueError, match="invalid literal"):
            gathered(client, [bad], engine)


def _drop_folder(root: Path, demo_project: Path) -> Path:
    """Demo months plus the awkward files: rows repeated across files and within one, rows set
    aside (a text in a number, a short row), a file that is not UTF-8 (rejected alone)."""
    incoming = root / "incoming"
    incoming.mkdir(parents=True)
    months = sorted((demo_project.parent / "incoming").glob("month-*.csv"))
    for path in months:
        (incoming / path.name).write_bytes(path.read_bytes())
    first = pd.read_csv(months[0], dtype=str)
    again = pd.concat([first.iloc[:40], first.iloc[:40], first.iloc[100:130]])  # 40 twice
    again.to_csv(incoming / "x-resent.csv", index=False)
    bad = first.iloc[200:260].copy()
    bad.loc[bad.index[:5], "lastmonth_activity"] = "lots"
    text = bad.to_csv(index=False) + "C999999,2026-01-01,retail\n"
    (incoming / "x-partial.csv").write_text(text, encoding="utf-8")
    (incoming / "y-latin1.csv").write_bytes(
        months[1].read_bytes().replace(b"retail", "r\xe9tail".encode("latin-1"))
    )
    return root


def _ingested(config: Path) -> tuple[dict[str, tuple[Any, ...]], int, list[int]]:
    """Per file (status, read, accepted, quarantined, duplicate), the dataset's rows, and its
    sorted row hashes."""
    done = run_cli("ingest", "--json", config=config)
    report = json.loads(done.stdout)
    units = {
        u["unit"]: (u["status"], u["read"], u["accepted"], u["quarantined"], u["duplicate"])
        for u in report["units"]
    }
    from riskwatch.storage.datasets import seen_hashes
    from tests.helpers import open_context

    ctx = open_context(config)
    try:
        hashes = seen_hashes(ctx.ws, ctx.version).tolist()
    finally:
        ctx.db.close()
    return units, report["rows_total"], hashes


def test_ingest_on_the_cluster_counts_and_stores_what_one_process_does(
    demo_project: Path, cluster: str, tmp_path: Path
) -> None:
    """The same drop folder through the local and the dask engine: the same status and
    read/accepted/quarantined/duplicate counts per file, the same stored rows; then a second
    round whose rows were partly stored already."""
    from tests.helpers import demo_config

    results = []
    for kind in ("local", "dask"):
        root = _drop_folder(tmp_path / kind, demo_project)
        engine = {"kind": kind, "address": cluster} if kind == "dask" else {"kind": "local"}
        config = demo_config(
            root,
            sources={"drop": {"kind": "folder", "path": "incoming", "settle_seconds": 0}},
            engine=engine,
        )
        first = _ingested(config)
        more = pd.read_csv(root / "incoming" / "month-3.csv", dtype=str).iloc[:500]
        more["snapshot_date"] = "2026-04-01"
        pd.concat([more, pd.read_csv(root / "incoming" / "month-2.csv", dtype=str)]).to_csv(
            root / "incoming" / "month-4.csv", index=False
        )
        results.append((first, _ingested(config)))
    (local_first, local_second), (dask_first, dask_second) = results
    units = local_first[0]
    assert units["y-latin1.csv"][0] == "rejected"
    assert units["x-resent.csv"][1:] == (110, 0, 0, 110)  # all stored already or repeated
    assert units["x-partial.csv"][1:] == (61, 0, 6, 55)  # 5 texts in a number, 1 short row
    assert dask_first == local_first
    assert local_second[0]["month-4.csv"][2] == 500  # month 2 again: all duplicates
    assert dask_second == local_second


def test_a_terminal_sees_the_progress_of_each_task_group(
    demo_project: Path, cluster: str, tmp_path: Path
) -> None:
    """On a terminal, predict shows a bar of the scoring tasks fed by the scheduler; piped,
    stderr stays empty."""
    import pty

    config = _engine_config(
        demo_project,
        "dask-progress.toml",
        {"kind": "dask", "address": cluster, "blocksize": "8KiB"},
    )
    source = demo_project.parent / "incoming" / "month-2.csv"
    cmd = [*RISKWATCH, "--config", str(config), "predict", "-i", str(source)]
    leader, follower = pty.openpty()
    job = subprocess.Popen(
        [*cmd, "-o", str(tmp_path / "a.csv")], stdout=subprocess.PIPE, stderr=follower
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert job.wait(timeout=120) == 0, seen.decode(errors="replace")
    assert b"scoring partitions" in seen
    piped = run_cli("predict", "-i", str(source), "-o", str(tmp_path / "b.csv"), config=config)
    assert piped.returncode == 0 and piped.stderr == ""

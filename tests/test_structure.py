"""One home per concern: SQL only in storage, data and models loaded once per run, one answer
per question everywhere, and a request schema that follows the champion being served."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from riskwatch.demo import DemoSpec, generate, month_batches
from tests.helpers import demo_config, demo_contract, run_cli

SRC = Path(__file__).parents[1] / "src" / "riskwatch"
NO_INDEX = {"RISKWATCH_PACKAGE_INDEX": "http://127.0.0.1:9"}


def test_sql_lives_only_in_storage() -> None:
    """Metadata SQL is in storage/; sources/ may query the user's own database only."""
    statement = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b")
    offenders = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        if "storage" not in path.parts and "sources" not in path.parts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if statement.search(line)
    ]
    assert offenders == []
    metadata_tables = re.compile(
        r"\b(FROM|INTO|UPDATE)\s+(ingestions|file_hashes|watermarks|models)\b"
    )
    sources = [p for p in SRC.rglob("*.py") if "sources" in p.parts]
    assert not [p for p in sources if metadata_tables.search(p.read_text())]


def test_the_champion_lookup_imports_nothing_heavy() -> None:
    code = (
        "import sys\nfrom riskwatch.storage.models import champion_version\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'numpy', 'pandas', 'sklearn', 'pydantic', 'joblib', 'pyarrow'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _demo(
    root: Path, months: list[int], *, clients: int = 1500, drift_month: int | None = None
) -> None:
    batches = month_batches(
        generate(DemoSpec(clients=clients, months=max(months), drift_month=drift_month, seed=5))
    )
    (root / "incoming").mkdir(exist_ok=True)
    for m in months:
        batches[m - 1].to_csv(root / "incoming" / f"month-{m:02d}.csv", index=False)


def test_a_retraining_run_reads_the_dataset_once_and_loads_the_champion_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    from riskwatch.cli import main
    from riskwatch.storage import datasets, models

    config = demo_config(tmp_path)
    _demo(tmp_path, [1, 2, 3], drift_month=4)
    monkeypatch.setenv("RISKWATCH_PACKAGE_INDEX", NO_INDEX["RISKWATCH_PACKAGE_INDEX"])
    assert run_cli("run", config=config).returncode == 0  # v1, the first champion
    _demo(tmp_path, [4], drift_month=4)
    calls: dict[str, int] = {"read_rows": 0, "load_artifact": 0, "read_parquet": 0}

    def counted(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(datasets, "read_rows", counted("read_rows", datasets.read_rows))
    monkeypatch.setattr(models, "load_artifact", counted("load_artifact", models.load_artifact))
    monkeypatch.setattr(pd, "read_parquet", counted("read_parquet", pd.read_parquet))
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "run", "--json"])
    assert exit_info.value.code in (0, None)
    history = json.loads(run_cli("runs", "--json", config=config).stdout)
    steps = [s["step"] for s in history[0]["steps"]]
    assert {"ingest", "drift", "train", "deploy", "report"} <= set(steps), steps
    parts = json.loads(
        __import__("sqlite3")
        .connect(tmp_path / "ws" / "metadata.db")
        .execute("SELECT parts FROM dataset_versions ORDER BY version DESC LIMIT 1")
        .fetchone()[0]
    )
    assert calls["read_rows"] == 1  # the dataset: read once for drift, training, report...
    assert calls["read_parquet"] == len(parts)  # ... each part once
    assert calls["load_artifact"] == 1  # the old champion, verified once; the new one is in memory


def test_one_model_shows_the_same_metrics_everywhere(tmp_path: Path) -> None:
    """After a refused challenger, status, /scoring, the report and the dashboard agree."""
    from fastapi.testclient import TestClient

    from riskwatch.api import create_app
    from riskwatch.config import load_settings

    config = demo_config(tmp_path)
    _demo(tmp_path, [1, 2, 3])
    assert run_cli("run", config=config, env=NO_INDEX).returncode == 0
    _demo(tmp_path, [4])  # a new month: the challenger's hold-out is on dataset v2
    assert run_cli("ingest", config=config).returncode == 0
    weak = demo_config(tmp_path, "weak.toml", training={"model": "course"})  # numbers only
    assert run_cli("train", config=weak).returncode == 0
    refused = run_cli("deploy", "--json", config=config)
    assert refused.returncode in (0, 1) and not json.loads(refused.stdout)["promoted"]
    assert run_cli("report", config=config, env=NO_INDEX).returncode == 0

    status = json.loads(run_cli("status", "--json", config=config).stdout)["champion"]
    client = TestClient(create_app(load_settings(config)))
    scoring = client.get("/scoring").json()
    folder = sorted((tmp_path / "ws" / "reports").glob("2*"))[-1]
    report = json.loads((folder / "apireturns.json").read_text())["scoring"]
    html = (folder / "report.html").read_text()
    dashboard = client.get("/").text

    assert status["version"] == scoring["model_version"] == report["model_version"] == 1
    assert status["eval_set"] == scoring["eval_set"] == report["eval_set"] == "holdout:dataset-v1"
    for key in ("roc_auc", "f1", "pr_auc"):
        value = scoring["metrics"][key]
        assert status["metrics"][key] == value == report["metrics"][key]
        assert f"{value:.4f}" in html
    assert f"{scoring['metrics']['roc_auc']:.3f}" in dashboard and "holdout:dataset-v1" in dashboard


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_champion_with_a_new_feature_is_served_with_its_schema_without_restart(
    tmp_path: Path,
) -> None:
    _demo(tmp_path, [1, 2])
    assert run_cli("ingest", config=demo_config(tmp_path)).returncode == 0  # 'region' is stored
    # ... then the contract leaves it out: the first champion does not use it
    config = demo_config(tmp_path, contract={**demo_contract(), "exclude": ["region"]})
    assert run_cli("run", config=config, env=NO_INDEX).returncode == 0
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "riskwatch", "--config", str(config), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        record = {
            "corporation": "C1",
            "industry": "retail",
            "lastmonth_activity": 10,
            "lastyear_activity": 400,
            "number_of_employees": 30,
            "contract_value": 20000.0,
            "tenure_years": 2.5,
            "support_tickets": 3,
        }
        assert _post(base + "/prediction", {"records": [record]})[0] == 200
        with urllib.request.urlopen(base + "/openapi.json", timeout=10) as resp:
            assert (
                "region"
                not in json.load(resp)["components"]["schemas"]["ClientRecord"]["properties"]
            )
        # the contract changes: 'region' becomes a feature again; v2 is trained and promoted
        config = demo_config(tmp_path)
        assert run_cli("train", config=config).returncode == 0
        forced = run_cli("deploy", "--force", "--reason", "region is back", config=config)
        assert forced.returncode == 0, forced.stderr
        time.sleep(1.5)  # the server re-reads the registry at most once a second
        status, body = _post(base + "/prediction", {"records": [record]})
        assert status == 422 and "region" in body["detail"]
        status, body = _post(base + "/prediction", {"records": [{**record, "region": "north"}]})
        assert status == 200 and body["model_version"] == 2
        with urllib.request.urlopen(base + "/openapi.json", timeout=10) as resp:
            props = json.load(resp)["components"]["schemas"]["ClientRecord"]["properties"]
        assert "region" in props
    finally:
        server.terminate()
        server.wait(timeout=10)

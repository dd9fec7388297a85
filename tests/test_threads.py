"""Thread settings are applied where they matter and do not leak (no timing thresholds here:
bench/peers.py rows 7 and 10 measure the effect with the other core busy).

- every riskwatch process sets the OpenMP wait policy to passive before numpy loads;
- the API scores with one thread per pool once a model is served;
- training runs with ``[runtime] threads`` and gives the pools back afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import open_context
from tests.test_api import _record

PROBE = """
import json, sys
import riskwatch.api.routes.predict as route
from riskwatch.api.app import create_app
from riskwatch.config import load_settings
from fastapi.testclient import TestClient
from threadpoolctl import threadpool_info
seen = []
real = route.predict_records
def watched(*args, **kwargs):
    seen.append([p["num_threads"] for p in threadpool_info()])  # in the request's thread
    return real(*args, **kwargs)
route.predict_records = watched
settings = load_settings(sys.argv[1], env={"RISKWATCH_API_KEY": "k"})
record = json.loads(sys.argv[2])
def ask(_):
    r = client.post("/prediction", json={"records": [record]}, headers={"X-API-Key": "k"})
    assert r.status_code == 200, r.text
with TestClient(create_app(settings)) as client:
    ask(0)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(6) as pool:  # concurrent requests: several request threads
        list(pool.map(ask, range(12)))
print(json.dumps(seen))
"""


def test_the_api_scores_with_one_thread_per_pool(demo_project: Path) -> None:
    """Checked inside the request threads: OpenMP counts threads per calling thread."""
    fields = {k: v for k, v in _record().items() if k != "snapshot_date"}  # not a feature
    record = json.dumps(fields)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(demo_project), record],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(seen) == 13 and all(n == 1 for pools in seen for n in pools), seen


def test_the_cli_makes_openmp_threads_sleep_before_numpy_loads() -> None:
    code = (
        "import sys, riskwatch.cli as cli\n"
        "sys.argv = ['riskwatch', '--version']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "import os; print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('KMP_BLOCKTIME'))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "KMP_"))}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "PASSIVE 0"


def test_training_uses_the_configured_threads_and_gives_them_back(
    demo_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from threadpoolctl import threadpool_info

    from riskwatch.model import training
    from riskwatch.registry import lifecycle

    root = tmp_path / "project"
    shutil.copytree(demo_project.parent, root, ignore=shutil.ignore_patterns("serve-*.log"))
    config = root / demo_project.name
    config.write_text(config.read_text() + "\n[runtime]\nthreads = 1\n")
    seen: list[list[int]] = []
    real_fit = training.fit

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append([p["num_threads"] for p in threadpool_info()])
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(training, "fit", watched)
    before = [p["num_threads"] for p in threadpool_info()]
    ctx = open_context(config)
    with ctx.ws.lock():
        lifecycle.train_and_register(ctx, reason="test")
    assert seen and all(n == 1 for pools in seen for n in pools), seen
    assert [p["num_threads"] for p in threadpool_info()] == before  # given back

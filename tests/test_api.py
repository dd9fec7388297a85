"""The API in-process (TestClient) and over HTTP against a real `riskwatch serve`."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskwatch.api import create_app
from riskwatch.config import load_settings
from tests.helpers import run_cli

KEY = {"X-API-Key": "test-key"}


def _record(**over: Any) -> dict[str, Any]:
    base = {
        "corporation": "abc",
        "industry": "retail",
        "region": "north",
        "lastmonth_activity": 120.0,
        "lastyear_activity": 1500.0,
        "number_of_employees": 40,
        "contract_value": 20000.0,
        "tenure_years": 3.0,
        "support_tickets": 2,
        "snapshot_date": "2025-01-01",
    }
    return {**base, **over}


@pytest.fixture(scope="module")
def client(demo_project: Path) -> TestClient:
    settings = load_settings(demo_project, env={"RISKWATCH_API_KEY": "test-key"})
    return TestClient(create_app(settings))


def _features(client: TestClient) -> set[str]:
    schema = client.get("/openapi.json", headers=KEY).json()["components"]["schemas"][
        "ClientRecord"
    ]
    return set(schema["properties"])


def test_health_needs_no_key_but_everything_else_does(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    for path in (
        "/ready",
        "/scoring",
        "/summarystats",
        "/diagnostics",
        "/risk",
        "/models",
        "/drift",
        "/metrics",
        "/openapi.json",
        "/calllist.csv",
        "/docs/assets/init.js",
        "/docs/assets/swagger-ui-bundle.js",
    ):
        r = client.get(path)
        assert r.status_code == 401 and r.headers["content-type"].startswith(
            "application/problem+json"
        ), path
        assert client.get(path, headers=KEY).status_code == 200, path
    assert client.get("/scoring", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/scoring", headers={"Authorization": "Bearer test-key"}).status_code == 200


def test_prediction_json(client: TestClient) -> None:
    names = _features(client)
    rec = {k: v for k, v in _record().items() if k in names}
    body = {
        "records": [
            rec,
            {**rec, "corporation": "xyz", "support_tickets": 9, "lastmonth_activity": 1.0},
        ]
    }
    r = client.post("/prediction", json=body, headers=KEY)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["model_version"] == 1 and [p["id"] for p in out["predictions"]] == ["abc", "xyz"]
    ranks = sorted(p["rank"] for p in out["predictions"])
    assert ranks == [1, 2] and all(0 < p["risk"] < 1 for p in out["predictions"])
    assert all(isinstance(p["factors"], list) for p in out["predictions"])


def test_prediction_answers_conform_to_their_documented_schema(client: TestClient) -> None:
    """The prediction routes serialise what they built without FastAPI's second validation:
    every answer (missing values, unseen categories, JSON and CSV) still validates against
    PredictionResponse, with the same content as the validated form."""
    from riskwatch.api.schemas import PredictionResponse

    names = _features(client)
    rec = {k: v for k, v in _record().items() if k in names}
    gaps = {**rec, "corporation": "gap", "lastmonth_activity": None, "industry": "space mining"}
    r = client.post("/prediction", json={"records": [rec, gaps]}, headers=KEY)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    raw = r.json()
    assert PredictionResponse.model_validate(raw).model_dump(mode="json") == raw
    csv = ",".join(rec) + "\n" + ",".join(str(v) for v in rec.values()) + "\n"
    r = client.post("/prediction/csv", files={"file": ("c.csv", csv, "text/csv")}, headers=KEY)
    raw = r.json()
    assert PredictionResponse.model_validate(raw).model_dump(mode="json") == raw


def test_prediction_validation_names_the_field(client: TestClient) -> None:
    names = _features(client)
    rec = {k: v for k, v in _record().items() if k in names}
    bad = {**rec, "lastmonth_activity": "lots"}
    r = client.post("/prediction", json={"records": [bad]}, headers=KEY)
    assert r.status_code == 422 and "lastmonth_activity" in r.json()["detail"]
    missing = {k: v for k, v in rec.items() if k != "tenure_years"}
    r = client.post("/prediction", json={"records": [missing]}, headers=KEY)
    assert r.status_code == 422 and "tenure_years" in r.json()["detail"]
    unknown = {**rec, "industry": "space mining"}  # an unseen category is scored, not a 500
    assert client.post("/prediction", json={"records": [unknown]}, headers=KEY).status_code == 200
    assert (
        client.post(
            "/prediction", content=b"{not json", headers={**KEY, "content-type": "application/json"}
        ).status_code
        == 422
    )
    assert client.post("/prediction", json={"records": []}, headers=KEY).status_code == 422


def test_prediction_csv_upload(client: TestClient) -> None:
    names = _features(client)
    rec = {k: v for k, v in _record().items() if k in names}
    csv = ",".join(rec) + "\n" + ",".join(str(v) for v in rec.values()) + "\n"
    r = client.post("/prediction/csv", files={"file": ("c.csv", csv, "text/csv")}, headers=KEY)
    assert r.status_code == 200 and r.json()["predictions"][0]["id"] == "abc"
    r = client.post(
        "/prediction/csv", files={"file": ("c.csv", "a,b\n1,2\n", "text/csv")}, headers=KEY
    )
    assert r.status_code == 422 and "missing column" in r.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/prediction?filename=../../etc/passwd",
        "/../../etc/passwd",
        "/static/..%2f..%2fetc%2fpasswd",
        "/risk?top=../../etc/passwd",
    ],
)
def test_no_path_traversal(client: TestClient, path: str) -> None:
    r = client.get(path, headers=KEY)
    assert r.status_code in (404, 405, 422) and "root:" not in r.text


def test_results_endpoints(client: TestClient) -> None:
    scoring = client.get("/scoring", headers=KEY).json()
    assert scoring["model_version"] == 1 and 0 < scoring["metrics"]["roc_auc"] <= 1
    risk = client.get("/risk?top=5", headers=KEY).json()
    assert len(risk["clients"]) == 5 and risk["clients"][0]["rank"] == 1
    assert risk["clients"][0]["risk"] >= risk["clients"][-1]["risk"]
    assert risk["clients"][0]["value_at_risk"] is not None
    assert client.get("/summarystats", headers=KEY).json()["summary"]["data"]["rows"] > 0
    diag = client.get("/diagnostics", headers=KEY).json()
    assert diag["last_run"]["status"] == "ok" and diag["dependencies"]["data"]
    assert client.get("/models", headers=KEY).json()["models"][0]["aliases"] == ["champion"]
    assert client.get("/ready", headers=KEY).json() == {
        "ready": True,
        "model_version": 1,
        "serving_version": 1,
        "champion_version": 1,
        "current": True,
        "reason": None,
    }
    assert "riskwatch_requests_total" in client.get("/metrics", headers=KEY).text


def test_rows_per_request_limit_comes_from_config(demo_project: Path) -> None:
    settings = load_settings(demo_project, env={"RISKWATCH_API_KEY": "test-key"})
    small = TestClient(
        create_app(
            settings.model_copy(
                update={"api": settings.api.model_copy(update={"max_rows_per_request": 2})}
            )
        )
    )
    names = _features(small)
    rec = {k: v for k, v in _record().items() if k in names}
    assert small.post("/prediction", json={"records": [rec, rec]}, headers=KEY).status_code == 200
    r = small.post("/prediction", json={"records": [rec, rec, rec]}, headers=KEY)
    assert r.status_code == 422 and "records" in r.json()["detail"]


def test_request_size_limit(client: TestClient) -> None:
    r = client.post(
        "/prediction", content=b"x" * 6_000_000, headers={**KEY, "content-type": "application/json"}
    )
    assert r.status_code == 413


def test_errors_hide_internals(client: TestClient) -> None:
    r = client.get("/nope", headers=KEY)
    assert r.status_code == 404 and "Traceback" not in r.text and "/work" not in r.text


def test_bind_refused_beyond_loopback_without_key(demo_project: Path) -> None:
    done = run_cli("serve", "--host", "0.0.0.0", config=demo_project, timeout=60)
    assert (
        done.returncode == 2
        and "API key" in done.stderr
        and len(done.stderr.strip().splitlines()) == 1
    )


def test_hot_reload_and_tampered_model_keeps_serving(demo_project: Path, tmp_path: Path) -> None:
    """A newly promoted champion is picked up without restart; a tampered one is refused."""
    project = tmp_path / "copy"
    shutil.copytree(demo_project.parent, project)
    config = project / demo_project.name
    app = create_app(load_settings(config))
    c = TestClient(app)
    assert c.get("/ready").json()["model_version"] == 1
    assert run_cli("train", config=config).returncode == 0
    assert (
        run_cli(
            "deploy", "--model-version", "2", "--force", "--reason", "test", config=config
        ).returncode
        == 0
    )
    app.state.rw._checked = 0.0  # skip the 1 s reload interval
    assert c.get("/ready").json()["model_version"] == 2
    assert run_cli("train", config=config).returncode == 0
    artifact = project / "ws" / "models" / "v3" / "model.joblib"
    artifact.write_bytes(artifact.read_bytes()[:-100])
    import sqlite3

    with sqlite3.connect(
        project / "ws" / "metadata.db"
    ) as db:  # promote it behind the registry's back
        db.execute("UPDATE aliases SET version = 3 WHERE alias = 'champion'")
    app.state.rw._checked = 0.0
    assert c.get("/ready").json()["model_version"] == 2  # still serving the good one


def test_over_http_with_a_real_server(live_server: str) -> None:
    def get(path: str, key: bool = True) -> tuple[int, Any]:
        req = urllib.request.Request(live_server + path, headers=KEY if key else {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    assert get("/health", key=False)[0] == 200
    assert get("/scoring", key=False)[0] == 401
    status, body = get("/scoring")
    assert status == 200 and body["model_version"] == 1
    status, body = get("/risk?top=3")
    assert status == 200 and len(body["clients"]) == 3


def test_api_report_saves_every_answer(live_server: str, demo_project: Path) -> None:
    done = run_cli(
        "api-report",
        "--url",
        live_server,
        config=demo_project,
        env={"RISKWATCH_API_KEY": "test-key"},
    )
    assert done.returncode == 0, done.stderr
    saved = sorted((demo_project.parent / "ws" / "reports" / "api").glob("apireturns-*.json"))
    answers = json.loads(saved[-1].read_text())
    assert answers["/scoring"]["status"] == 200 and answers["/risk?top=20"]["body"]["clients"]


def test_the_served_model_is_kept_out_of_full_collections(demo_project: Path) -> None:
    """Once the champion is loaded, the server's long-lived objects are frozen (gc.freeze):
    a full collection during a 1,000-client request walked them and tripled its p99 (the
    latency itself is measured in bench/peers.py, row 9)."""
    import gc

    settings = load_settings(demo_project, env={"RISKWATCH_API_KEY": "test-key"})
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    fresh = TestClient(create_app(settings))
    names = _features(fresh)
    rec = {k: v for k, v in _record().items() if k in names}
    assert fresh.post("/prediction", json={"records": [rec]}, headers=KEY).status_code == 200
    assert gc.get_freeze_count() > 0

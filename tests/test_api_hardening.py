"""API hardening, as a user or an attacker meets it: strict numbers, stale or tampered models,
security headers, login CSRF, signed sessions, wrong-key lockout, chunked bodies, CLI predict.

Most checks go over HTTP to a real ``riskwatch serve`` process; header-level details use the
in-process TestClient.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskwatch.api import create_app
from riskwatch.config import load_settings
from tests.conftest import free_port
from tests.helpers import run_cli

KEY = {"X-API-Key": "test-key"}
FEATURES = {
    "corporation": "abc",
    "industry": "retail",
    "region": "north",
    "lastmonth_activity": 120.0,
    "lastyear_activity": 1500.0,
    "number_of_employees": 40,
    "contract_value": 20000.0,
    "tenure_years": 3.0,
    "support_tickets": 2,
}
NUMERIC = [k for k, v in FEATURES.items() if isinstance(v, int | float)]


# -- helpers ---------------------------------------------------------------------------------
def call(
    base: str,
    path: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; (status, lower-cased headers, body), errors included."""
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def post_json(base: str, path: str, raw: str, key: bool = True) -> tuple[int, Any]:
    """POST a raw JSON text (so that ``Infinity`` and ``NaN`` literals reach the server)."""
    status, _, body = call(
        base,
        path,
        method="POST",
        body=raw.encode(),
        headers={**(KEY if key else {}), "Content-Type": "application/json"},
    )
    return status, json.loads(body or b"null")


def post_csv(base: str, text: str) -> tuple[int, Any]:
    """Upload ``text`` as a CSV file to ``/prediction/csv``."""
    boundary = "rwboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n{text}\r\n--{boundary}--\r\n"
    ).encode()
    status, _, raw = call(
        base,
        "/prediction/csv",
        method="POST",
        body=body,
        headers={**KEY, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    return status, json.loads(raw or b"null")


def record_json(field: str, literal: str) -> str:
    """A one-record request body whose ``field`` holds the JSON text ``literal``."""
    parts = [
        f"{json.dumps(k)}: {literal if k == field else json.dumps(v)}" for k, v in FEATURES.items()
    ]
    return '{"records": [{' + ", ".join(parts) + "}]}"


def csv_text(field: str, cell: str, extra: dict[str, str] | None = None) -> str:
    """A two-row CSV whose second row holds ``cell`` in ``field``."""
    columns = {**{k: str(v) for k, v in FEATURES.items()}, **(extra or {})}
    row = ",".join(columns.values())
    bad = ",".join(cell if k == field else v for k, v in columns.items())
    return ",".join(columns) + "\n" + row + "\n" + bad + "\n"


@contextmanager
def serve(config: Path, *args: str, key: str = "test-key") -> Iterator[tuple[str, Path]]:
    """A real ``riskwatch serve`` process; yields its base URL and the file its stderr goes to."""
    port = free_port()
    log = config.parent / f"serve-{port}.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "riskwatch", "serve", "--port", str(port), *args],
            env={**_env(config), "RISKWATCH_API_KEY": key},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail(f"riskwatch serve did not start: {log.read_text()}")
                time.sleep(0.2)
        try:
            yield base, log
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def _env(config: Path) -> dict[str, str]:
    import os

    return {**os.environ, "RISKWATCH_CONFIG": str(config)}


def wait_for(check: Any, seconds: float = 90) -> Any:
    """Poll ``check()`` until it returns something truthy (fails the test after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def two_models(demo_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo project with a second model v2 trained (v1 is still champion)."""
    root = tmp_path_factory.mktemp("two") / "project"
    shutil.copytree(demo_project.parent, root)
    config = root / demo_project.name
    done = run_cli("train", config=config)
    assert done.returncode == 0, done.stderr
    return config


@pytest.fixture
def project(two_models: Path, tmp_path: Path) -> Path:
    """A fresh copy of ``two_models`` for one test."""
    root = tmp_path / "project"
    shutil.copytree(two_models.parent, root, ignore=shutil.ignore_patterns("serve-*.log"))
    return root / two_models.name


@pytest.fixture(scope="module")
def client(demo_project: Path) -> TestClient:
    settings = load_settings(demo_project, env={"RISKWATCH_API_KEY": "test-key"})
    return TestClient(create_app(settings), raise_server_exceptions=False)


# -- 1. numbers are finite numbers -----------------------------------------------------------
@pytest.mark.parametrize(
    "literal",
    [
        "Infinity",
        "-Infinity",
        "NaN",
        "1e309",
        "-1e309",
        "true",
        '"12"',
        "[1]",
        '{"a": 1}',
        "9" * 400,
    ],
)
@pytest.mark.parametrize("field", ["lastmonth_activity", "number_of_employees"])
def test_json_non_numbers_are_422_naming_the_field(
    live_server: str, field: str, literal: str
) -> None:
    status, body = post_json(live_server, "/prediction", record_json(field, literal))
    assert status == 422, body
    assert body["detail"].startswith(f"records.0.{field}:"), body["detail"]
    assert "Traceback" not in json.dumps(body)


def test_json_ints_and_nulls_are_numbers(live_server: str) -> None:
    raw = record_json("lastmonth_activity", "120").replace(
        '"support_tickets": 2', '"support_tickets": null'
    )
    status, body = post_json(live_server, "/prediction", raw)
    assert status == 200, body
    status, body = post_json(live_server, "/prediction", record_json("corporation", "1001"))
    assert status == 200 and body["predictions"][0]["id"] == "1001"


@pytest.mark.parametrize("literal", ["true", "1.5", "[1]", '"' + "x" * 1001 + '"'])
def test_json_id_must_be_text_or_integer(live_server: str, literal: str) -> None:
    status, body = post_json(live_server, "/prediction", record_json("corporation", literal))
    assert status == 422 and body["detail"].startswith("records.0.corporation:"), body


@pytest.mark.parametrize(
    "cell", ["inf", "-inf", "Infinity", "-Infinity", "1e309", "true", "FALSE", "12 apples", "0x10"]
)
@pytest.mark.parametrize("field", ["tenure_years", "support_tickets"])
def test_csv_non_numbers_are_422_naming_column_and_row(
    live_server: str, field: str, cell: str
) -> None:
    status, body = post_csv(live_server, csv_text(field, cell))
    assert status == 422, body
    assert body["detail"] == f"file: column {field!r}, row 2: {cell!r} is not a finite number"


@pytest.mark.parametrize("cell", ["", "NA", "null", " 12 ", "1e3", "-0.5"])
def test_csv_missing_tokens_and_numbers_are_scored(live_server: str, cell: str) -> None:
    status, body = post_csv(live_server, csv_text("tenure_years", cell))
    assert status == 200, body
    assert len(body["predictions"]) == 2 and all(0 <= p["risk"] <= 1 for p in body["predictions"])


def test_csv_unknown_columns_are_refused_like_json(live_server: str) -> None:
    status, body = post_csv(live_server, csv_text("tenure_years", "3", extra={"exited": "1"}))
    assert status == 422 and "unknown column(s) 'exited'" in body["detail"], body
    status, body = post_json(
        live_server, "/prediction", record_json("tenure_years", '3, "exited": 1')
    )
    assert status == 422 and "exited" in body["detail"]
    many = {f"c{i}": "1" for i in range(10_000)}
    status, body = post_csv(live_server, csv_text("tenure_years", "3", extra=many))
    assert status == 422 and "'c0', 'c1', 'c2', 'c3', 'c4' and 9995 more" in body["detail"]
    assert len(body["detail"]) < 300


@pytest.mark.parametrize("value", ["1e308", "-1e308", "1.7976931348623157e308", "5e-324"])
def test_huge_finite_numbers_never_500(live_server: str, value: str) -> None:
    for field in NUMERIC:
        status, body = post_json(live_server, "/prediction", record_json(field, value))
        assert status in (200, 422), (field, status, body)
        status, body = post_csv(live_server, csv_text(field, value))
        assert status in (200, 422), (field, status, body)


def test_overflow_inside_the_model_is_a_422_naming_the_field(demo_project: Path) -> None:
    """A near-constant feature (tiny scale) makes 1e308 overflow after scaling: the caller's
    value is named, not a 500; with ordinary values the same model scores."""
    from riskwatch.answers.predictions import predict_records
    from riskwatch.errors import DataError
    from tests.helpers import open_context

    model = open_context(demo_project).champion()
    assert model is not None and model.fast is not None
    kind, (stats, indicator, mean, scale) = model.fast.blocks[0]
    tiny = scale.copy()
    tiny[model.fast.numeric.index("support_tickets")] = 1e-300
    model.fast.blocks[0] = (kind, (stats, indicator, mean, tiny))
    record = {k: v for k, v in FEATURES.items()}
    assert predict_records(model, [record], 0.5)["predictions"][0]["risk"] >= 0
    with pytest.raises(DataError, match=r"^records\.1\.support_tickets: 1e\+308 is too large"):
        predict_records(model, [record, {**record, "support_tickets": 1e308}], 0.5)


@pytest.mark.parametrize("cell", ["inf", "-Infinity", "1e309", "true"])
def test_cli_predict_refuses_non_finite_in_one_line(
    demo_project: Path, tmp_path: Path, cell: str
) -> None:
    source = tmp_path / "clients.csv"
    source.write_text(csv_text("lastmonth_activity", cell))
    out = tmp_path / "scores.csv"
    done = run_cli("predict", "--input", str(source), "--output", str(out), config=demo_project)
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "column 'lastmonth_activity', row 2: " in lines[0]
    assert lines[0].endswith("is not a finite number")
    assert str(source) in lines[0] and not out.exists()
    source.write_text(csv_text("lastmonth_activity", "NA"))
    done = run_cli("predict", "--input", str(source), "--output", str(out), config=demo_project)
    assert done.returncode == 0 and len(out.read_text().splitlines()) == 3, done.stderr


def test_cli_predict_refuses_non_finite_parquet(demo_project: Path, tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame([FEATURES, {**FEATURES, "corporation": "x", "tenure_years": float("inf")}])
    source = tmp_path / "clients.parquet"
    frame.to_parquet(source, index=False)
    out = tmp_path / "scores.parquet"
    done = run_cli("predict", "--input", str(source), "--output", str(out), config=demo_project)
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "column 'tenure_years', row 2: 'inf' is not a finite number" in done.stderr
    assert not out.exists()


# -- 2 and 3. the model served is the champion, or /health and /ready say why not -----------
def _health(base: str) -> dict[str, Any]:
    return json.loads(call(base, "/health")[2])


def _champion(config: Path, version: int) -> None:
    """Move the champion alias behind the registry's back (as a half-finished copy would look)."""
    with sqlite3.connect(config.parent / "ws" / "metadata.db") as db:
        db.execute("UPDATE aliases SET version = ? WHERE alias = 'champion'", (version,))


def test_briefly_unreadable_champion_is_retried_and_reported(project: Path) -> None:
    artifact = project.parent / "ws" / "models" / "v2" / "model.joblib"
    with serve(project) as (base, log):
        assert _health(base)["serving_version"] == 1
        hidden = artifact.with_suffix(".away")
        artifact.rename(hidden)
        _champion(project, 2)
        health = wait_for(lambda: (h := _health(base))["champion_version"] == 2 and h)
        assert health["status"] == "degraded" and health["serving_version"] == 1
        assert health["current"] is False and "champion v2 refused" in health["reason"]
        assert (
            "workspace/models/v2/model.joblib" in health["reason"]
            and str(project.parent) not in health["reason"]
        )
        status, _, body = call(base, "/ready", headers=KEY)
        ready = json.loads(body)
        assert status == 503 and ready["ready"] is False and ready["serving_version"] == 1
        status, body = post_json(base, "/prediction", json.dumps({"records": [FEATURES]}))
        assert status == 200 and body["model_version"] == 1
        hidden.rename(artifact)  # the copy finished: served within the backoff, no restart
        ready = wait_for(lambda: call(base, "/ready", headers=KEY)[0] == 200, seconds=120)
        assert ready and _health(base)["serving_version"] == 2 and _health(base)["status"] == "ok"
        status, body = post_json(base, "/prediction", json.dumps({"records": [FEATURES]}))
        assert status == 200 and body["model_version"] == 2
    text = log.read_text()
    assert "refusing model version 2" in text and "missing" in text
    assert "model version 2 now loads and verifies" in text


def test_tampered_champion_at_start_serves_the_previous_version_loudly(project: Path) -> None:
    done = run_cli("deploy", "--model-version", "2", "--force", "--reason", "test", config=project)
    assert done.returncode == 0, done.stderr
    artifact = project.parent / "ws" / "models" / "v2" / "model.joblib"
    good = artifact.read_bytes()
    artifact.write_bytes(good[:-10] + bytes(b ^ 0xFF for b in good[-10:]))
    with serve(project) as (base, log):
        start = log.read_text()
        assert "SERVING AN OLDER MODEL" in start and "models/v2/model.joblib" in start
        assert "sha256" in start
        health = _health(base)
        assert health["serving_version"] == 1 and health["champion_version"] == 2
        assert health["status"] == "degraded" and "sha256" in health["reason"]
        status, _, body = call(base, "/ready", headers=KEY)
        assert status == 503 and "champion v2 refused" in json.loads(body)["reason"]
        status, body = post_json(base, "/prediction", json.dumps({"records": [FEATURES]}))
        assert status == 200 and body["model_version"] == 1
        metrics = call(base, "/metrics", headers=KEY)[2].decode()
        assert "riskwatch_model_version 1" in metrics and "riskwatch_model_current 0" in metrics
        artifact.write_bytes(good)  # repaired: the champion is served without a restart
        wait_for(lambda: _health(base)["serving_version"] == 2, seconds=120)


def test_no_verified_model_at_all_is_a_503_that_says_why(project: Path) -> None:
    done = run_cli("deploy", "--model-version", "2", "--force", "--reason", "test", config=project)
    assert done.returncode == 0, done.stderr
    for v in (1, 2):
        artifact = project.parent / "ws" / "models" / f"v{v}" / "model.joblib"
        artifact.write_bytes(artifact.read_bytes()[:-50])
    with serve(project) as (base, log):
        status, body = post_json(base, "/prediction", json.dumps({"records": [FEATURES]}))
        assert status == 503 and "champion v2 refused" in body["detail"]
        assert "does not match its recorded sha256" in body["detail"]
        assert "no champion model is deployed yet" not in body["detail"]
        assert _health(base)["serving_version"] is None
        assert call(base, "/ready", headers=KEY)[0] == 503
    assert "no model to serve: champion v2 is refused" in log.read_text()


def test_unhandled_error_goes_to_the_log_never_to_the_client(
    demo_project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(load_settings(demo_project))

    def broken() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    app.add_api_route("/broken", broken)
    with caplog.at_level("ERROR", logger="riskwatch"):
        r = TestClient(app, raise_server_exceptions=False).get("/broken")
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert "secret" not in r.text and "Traceback" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    logged = [rec for rec in caplog.records if rec.getMessage().startswith("unhandled error")]
    assert logged and logged[0].exc_info and "secret internals" in str(logged[0].exc_info[1])


# -- 4. web hardening ------------------------------------------------------------------------
def _check_headers(headers: Any, where: str) -> None:
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp, where
    assert "script-src" not in csp and "unsafe-inline" not in csp, where
    assert headers["x-frame-options"] == "DENY", where
    assert headers["x-content-type-options"] == "nosniff", where
    assert headers["referrer-policy"] == "no-referrer", where
    assert headers["cache-control"] == "no-store", where


def test_security_headers_on_every_response(client: TestClient) -> None:
    responses = {
        "health": client.get("/health"),
        "ready 401": client.get("/ready"),
        "ready": client.get("/ready", headers=KEY),
        "risk": client.get("/risk?top=3", headers=KEY),
        "login page": client.get("/"),
        "dashboard": client.get("/", headers=KEY),
        "404": client.get("/nope", headers=KEY),
        "405": client.put("/risk", headers=KEY),
        "422": client.post("/prediction", json={"records": []}, headers=KEY),
        "413": client.post("/prediction", content=b"x" * 6_000_000, headers=KEY),
        "openapi": client.get("/openapi.json"),
    }
    for where, r in responses.items():
        _check_headers(r.headers, where)
    assert responses["405"].headers["allow"]  # handlers keep the headers of HTTP errors


def test_dashboard_has_no_script_and_its_style_is_allowed_by_hash(client: TestClient) -> None:
    import base64
    import hashlib

    for page in (client.get("/"), client.get("/", headers=KEY)):
        assert "<script" not in page.text.lower()
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", page.text, flags=re.I)  # no handlers
        style = re.search(r"<style>(.*?)</style>", page.text, flags=re.S)
        assert style is not None
        digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
        assert f"'sha256-{digest}'" in page.headers["content-security-policy"]


def test_docs_pages_run_same_origin_scripts_only_and_need_the_key(
    client: TestClient, demo_project: Path
) -> None:
    for path in ("/docs", "/redoc"):
        assert client.get(path).status_code == 401  # the key form, not the page
        page = client.get(path, headers=KEY)
        assert page.status_code == 200 and "https://" not in page.text, path
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, flags=re.S)
        assert scripts and all(body.strip() == "" for _, body in scripts), path  # none inline
        assert all(re.search(r'src="/docs/assets/[\w.-]+\.js"', attrs) for attrs, _ in scripts)
        csp = page.headers["content-security-policy"]
        script_src = re.search(r"script-src ([^;]*)", csp)
        assert script_src is not None and script_src.group(1).strip() == "'self'", csp
        assert "frame-ancestors 'none'" in csp and "https:" not in csp and "http:" not in csp
        for src in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            asset = client.get(src, headers=KEY)
            assert asset.status_code == 200 and len(asset.content) > 100, src
    assert client.get("/openapi.json").status_code == 401
    doc = client.get("/openapi.json", headers=KEY).json()
    assert doc["components"]["securitySchemes"]["ApiKey"]["name"] == "X-API-Key"
    assert "security" not in doc["paths"]["/health"]["get"]
    assert doc["paths"]["/risk"]["get"]["security"] == [{"ApiKey": []}]
    assert client.get("/docs/assets/..%2Fconsts.py", headers=KEY).status_code == 404
    # api.public_docs = true: the docs open without the key; the answers still need it
    settings = load_settings(demo_project, env={"RISKWATCH_API_KEY": "test-key"})
    public = settings.model_copy(
        update={"api": settings.api.model_copy(update={"public_docs": True})}
    )
    open_docs = TestClient(create_app(public))
    assert open_docs.get("/docs").status_code == 200
    assert open_docs.get("/openapi.json").status_code == 200
    assert open_docs.get("/risk").status_code == 401


def test_login_returns_to_the_docs_but_never_to_another_site(demo_project: Path) -> None:
    settings = load_settings(demo_project, env={"RISKWATCH_API_KEY": "test-key"})
    c = TestClient(create_app(settings), follow_redirects=False)
    page = c.get("/docs")
    assert page.status_code == 401 and "name='after' value='/docs'" in page.text
    done = c.post(
        "/login", data={"key": "test-key", "csrf": _form_token(page.text), "after": "/docs"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/docs"
    assert c.get("/docs").status_code == 200 and c.get("/openapi.json").status_code == 200
    for target in ("https://example.org/", "//example.org", "/\\example.org", "/risk"):
        other = TestClient(c.app, follow_redirects=False)  # a new browser: a fresh form
        token = _form_token(other.get("/").text)
        done = other.post("/login", data={"key": "test-key", "csrf": token, "after": target})
        assert done.status_code == 303 and done.headers["location"] == "/", target


def _form_token(page: str) -> str:
    found = re.search(r"name='csrf' value='([^']+)'", page)
    assert found is not None
    return found.group(1)


def test_login_needs_the_csrf_token_and_sets_a_signed_session(demo_project: Path) -> None:
    settings = load_settings(demo_project, env={"RISKWATCH_API_KEY": "test-key"})
    c = TestClient(create_app(settings), follow_redirects=False)
    page = c.get("/")
    assert page.status_code == 401 and "API key" in page.text
    token = _form_token(page.text)
    cookie = page.headers["set-cookie"]
    assert (
        f"riskwatch_csrf={token}" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    )
    # no token, a wrong token, a token without its cookie twin: refused before the key is looked at
    refused = c.post("/login", data={"key": "test-key"})
    assert refused.status_code == 403 and "riskwatch_session" not in str(refused.headers)
    refused = c.post("/login", data={"key": "test-key", "csrf": token + "x"})
    assert refused.status_code == 403
    token = _form_token(refused.text)  # each form comes with a fresh token and cookie twin
    other = TestClient(c.app, follow_redirects=False)
    assert other.post("/login", data={"key": "test-key", "csrf": token}).status_code == 403
    forged = "9999999999.abc.def"
    other.cookies.set("riskwatch_csrf", forged)
    assert other.post("/login", data={"key": "test-key", "csrf": forged}).status_code == 403
    done = c.post("/login", data={"key": "test-key", "csrf": token})
    assert done.status_code == 303 and done.headers["location"] == "/"
    session = next(
        h for h in done.headers.get_list("set-cookie") if h.startswith("riskwatch_session=")
    )
    value = session.split(";")[0].split("=", 1)[1]
    assert "test-key" not in session and len(value) > 40
    assert "HttpOnly" in session and "SameSite=strict" in session and "Max-Age=" in session
    assert "Secure" not in session  # plain HTTP
    assert c.get("/").status_code == 200 and "calllist" in c.get("/").text
    assert c.get("/risk?top=1").status_code == 200  # the session works for the API too


@pytest.mark.parametrize("cookie", ["test-key", "", "1.2.3", "9999999999.abc.def", "x" * 300])
def test_a_forged_or_raw_key_cookie_is_not_a_session(client: TestClient, cookie: str) -> None:
    r = client.get("/risk", headers={"Cookie": f"riskwatch_session={cookie}"})
    assert r.status_code == 401
    r = client.get("/risk", headers={"Cookie": f"riskwatch_key={cookie}"})  # the old raw-key cookie
    assert r.status_code == 401


def test_expired_and_foreign_sessions_are_refused(demo_project: Path) -> None:
    settings = load_settings(demo_project, env={"RISKWATCH_API_KEY": "test-key"})
    app = create_app(settings, session_secret=b"s" * 32)
    auth = app.state.auth

    def status(app: Any, token: str) -> int:
        cookie = {"Cookie": f"riskwatch_session={token}"}
        return TestClient(app).get("/risk", headers=cookie).status_code

    assert status(app, auth.token("session", 60)) == 200
    assert status(app, auth.token("session", -1)) == 401  # expired
    assert status(app, auth.token("csrf", 60)) == 401  # signed for another purpose
    assert status(create_app(settings), auth.token("session", 60)) == 401  # a restart ends it


def test_session_cookie_is_secure_over_https(demo_project: Path) -> None:
    settings = load_settings(demo_project, env={"RISKWATCH_API_KEY": "test-key"})
    for base, secure in (("https://testserver", True), ("http://testserver", False)):
        c = TestClient(create_app(settings), base_url=base, follow_redirects=False)
        token = _form_token(c.get("/").text)
        # X-Forwarded-Proto is not believed unless serve --trust-proxy says so
        done = c.post(
            "/login",
            data={"key": "test-key", "csrf": token},
            headers={"X-Forwarded-Proto": "https"},
        )
        session = next(
            h for h in done.headers.get_list("set-cookie") if h.startswith("riskwatch_session=")
        )
        assert ("Secure" in session) is secure, base
        assert ("strict-transport-security" in done.headers) is secure


def test_wrong_keys_are_rate_limited_per_address_over_http(project: Path) -> None:
    """Behind a trusted proxy (serve --trust-proxy): Secure cookie from X-Forwarded-Proto, and
    the lockout counts the forwarded client address."""
    with serve(project, "--trust-proxy", "127.0.0.1") as (base, _):

        def get(key: str, client: str) -> tuple[int, dict[str, str], bytes]:
            return call(base, "/scoring", headers={"X-API-Key": key, "X-Forwarded-For": client})

        assert [get("wrong", "10.0.0.1")[0] for _ in range(5)] == [401] * 5
        status, headers, body = get("wrong", "10.0.0.1")
        assert status == 429 and 1 <= int(headers["retry-after"]) <= 60
        assert json.loads(body)["title"] == "Too many requests"
        assert get("test-key", "10.0.0.1")[0] == 429  # no oracle while locked out
        assert get("test-key", "10.0.0.2")[0] == 200  # another address is not affected
        assert get("", "10.0.0.1")[0] == 401  # no key at all is not a guess
        # the login form counts too, and its cookie is Secure when the proxy says HTTPS
        fwd = {"X-Forwarded-For": "10.0.0.3", "X-Forwarded-Proto": "https"}
        status, headers, page = call(base, "/", headers=fwd)
        token = _form_token(page.decode())
        cookie = f"riskwatch_csrf={token}"
        assert "Secure" in headers["set-cookie"]
        form = f"key=nope&csrf={token}".encode()
        hdrs = {**fwd, "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        codes = [call(base, "/login", method="POST", body=form, headers=hdrs)[0] for _ in range(6)]
        assert codes == [401] * 5 + [429]


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(demo_project: Path) -> None:
    settings = load_settings(demo_project, env={"RISKWATCH_API_KEY": "test-key"})
    c = TestClient(create_app(settings))
    codes = [
        c.get(
            "/scoring", headers={"X-API-Key": "wrong", "X-Forwarded-For": f"10.1.0.{i}"}
        ).status_code
        for i in range(6)
    ]
    assert codes == [401] * 5 + [429]  # one peer, however many addresses it claims


def _chunked(
    base: str, path: str, chunks: Iterator[bytes], headers: dict[str, str]
) -> tuple[int, Any]:
    """POST with Transfer-Encoding: chunked (no Content-Length), as a streaming client does."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.putrequest("POST", path)
        for k, v in {**headers, "Transfer-Encoding": "chunked"}.items():
            conn.putheader(k, v)
        conn.endheaders()
        try:
            for chunk in chunks:
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the end: read its answer
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


def test_chunked_body_over_the_limit_gets_413_over_http(live_server: str) -> None:
    json_headers = {**KEY, "Content-Type": "application/json"}
    small = json.dumps({"records": [FEATURES]}).encode()
    status, body = _chunked(
        live_server, "/prediction", iter([small[:10], small[10:]]), json_headers
    )
    assert status == 200 and body["predictions"], body  # chunked bodies work
    big = (b" " * 65536 for _ in range(100))  # 6.5 MB > api.max_body_bytes (5 MB)
    status, body = _chunked(live_server, "/prediction", big, json_headers)
    assert status == 413 and "request body over" in body["detail"]
    form = {**KEY, "Content-Type": "multipart/form-data; boundary=b"}
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n\r\n'
    parts = iter([head, *(b"1,2,3\n" * 10000 for _ in range(100))])
    status, body = _chunked(live_server, "/prediction/csv", parts, form)
    assert status == 413, body
    assert call(live_server, "/health")[0] == 200  # the server is fine afterwards

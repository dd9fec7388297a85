"""Property-based fuzzing of the API against its own OpenAPI schema (schemathesis): no 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from riskwatch.api import create_app
from riskwatch.config import load_settings

schemathesis = pytest.importorskip("schemathesis")
KEY = {"X-API-Key": "fuzz-key"}
PER_OPERATION = 200


def test_no_server_errors_over_generated_requests(demo_project: Path) -> None:
    app = create_app(load_settings(demo_project, env={"RISKWATCH_API_KEY": "fuzz-key"}))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=KEY)
    sent: dict[str, int] = {}
    failures: list[str] = []
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    for result, mode in ((r, m) for r in schema.get_all_operations() for m in modes):
        operation = result.ok()

        @settings(
            max_examples=PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: object) -> None:
            label = case.operation.label  # type: ignore[attr-defined]
            response = case.call(headers=KEY)  # type: ignore[attr-defined]
            sent[label] = sent.get(label, 0) + 1
            if response.status_code >= 500:
                failures.append(f"{label}: {response.status_code} {response.text[:200]}")
            assert "Traceback" not in response.text

        try:
            fuzz()
        except Unsatisfiable:  # nothing invalid can be generated for an operation without inputs
            continue
    assert not failures, failures[:5]
    assert sum(sent.values()) >= 1000, sent
    assert {"POST /prediction", "GET /risk", "GET /drift"} <= set(sent)

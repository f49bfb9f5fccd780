"""Schemathesis: generated requests from the OpenAPI schema, valid and invalid alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.serving.conftest import Offline

pytestmark = pytest.mark.integration

CASES_PER_OPERATION_AND_MODE = 80
MINIMUM_CASES = 1_000
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


def test_generated_requests_get_no_5xx_and_match_the_schema(
    api: TestClient, offline: Offline, artifacts: Path
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err here is a broken schema
        modes = [schemathesis.GenerationMode.POSITIVE]
        if any(True for _ in operation.iter_parameters()):
            modes.append(schemathesis.GenerationMode.NEGATIVE)  # invalid parameters
        for mode in modes:

            @hypothesis.settings(
                max_examples=CASES_PER_OPERATION_AND_MODE,
                deadline=None,
                database=None,
                derandomize=True,
                # A failure reports its case as generated; shrinking it can take minutes.
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case[Any]) -> None:
                response = case.call_and_validate(
                    headers={"X-API-Key": offline.full_key}, checks=CHECKS
                )
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

            call()
    total = sum(statuses.values())
    (artifacts / "schemathesis-statuses.json").write_text(json.dumps(statuses, indent=2))
    assert total >= MINIMUM_CASES, statuses
    assert statuses.get(200, 0) > total // 10, statuses  # real answers, not only rejections
    assert statuses.get(422, 0) > 0, statuses

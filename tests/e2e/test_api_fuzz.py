"""Schema-driven fuzzing: schemathesis sends what the served OpenAPI document allows, and
what it does not, to every operation of the platform, OCSP and signed routes included.

Bounded and repeatable: a fixed number of examples per operation and mode, derandomised
(Hypothesis's fixed seed), no example database. For every answer: no 5xx; the status,
media type and body conform to the document; and every error is a problem document
(RFC 9457) whose ``type`` is one of the stable kinds of ``core.errors``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from ehcert.core.errors import ErrorKind

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningPlatform

EXAMPLES_PER_OPERATION = 25
KINDS = {f"urn:ehcert:problem:{kind.value}" for kind in ErrorKind}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schemathesis.serializer("application/ocsp-request")
def _ocsp_request_bytes(context: Any, value: Any) -> bytes:
    """Generated bodies of ``format: binary`` go on the wire as the bytes they are."""
    data = getattr(value, "data", value)
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    return repr(data).encode()


def _check_problem(response: Any, label: str) -> None:
    if response.status_code < 400:
        return
    media_type = response.headers.get("content-type", [""])
    media_type = media_type[0] if isinstance(media_type, list) else media_type
    assert media_type == "application/problem+json", (label, response.status_code, media_type)
    problem = response.json()
    assert problem["type"] in KINDS, (label, problem)
    assert problem["status"] == response.status_code, (label, problem)
    assert "Traceback" not in response.text, label


def _exercise(
    env: RunningPlatform, operation: Any, mode: schemathesis.GenerationMode
) -> str | None:
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case: schemathesis.Case) -> None:
        response = case.call(base_url=env.url, timeout=30)
        case.validate_response(response, checks=CHECKS)
        _check_problem(response, label)

    try:
        exercise()
    except Unsatisfiable:
        # An operation without inputs (GET /health) has no invalid request to make.
        assert mode is schemathesis.GenerationMode.NEGATIVE, label
        return None
    return label


def _fuzz(env: RunningPlatform, mode: schemathesis.GenerationMode) -> list[str]:
    schema = schemathesis.openapi.from_url(env.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, "the document lists fewer operations than the platform has"
    covered = [_exercise(env, operation, mode) for operation in operations]
    return [label for label in covered if label is not None]


@pytest.mark.parametrize("running", ["sqlite"], indirect=True)
def test_generated_valid_requests_never_get_a_server_error(env: RunningPlatform) -> None:
    covered = _fuzz(env, schemathesis.GenerationMode.POSITIVE)
    assert "POST /ocsp" in covered
    assert "GET /ocsp/{encoded}" in covered
    assert "POST /v1/certificates" in covered
    assert "POST /sts/token" in covered


@pytest.mark.parametrize("running", ["sqlite"], indirect=True)
def test_generated_invalid_requests_are_refused_with_problems(env: RunningPlatform) -> None:
    covered = _fuzz(env, schemathesis.GenerationMode.NEGATIVE)
    for signed in ("POST /v1/certificates/renew", "POST /sts/token", "POST /v1/etk"):
        assert signed in covered
    # The platform still answers after the run.
    assert httpx.get(env.url + "/health").json()["status"] == "ok"

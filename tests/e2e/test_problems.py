"""Every error is a problem document; the OpenAPI document says so; /docs works offline.

Over real HTTP against the platform (SQLite and PostgreSQL), except the last tests, which
serve a small app through the same middleware to make an error no route of the platform
can make on purpose.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException

from ehcert.api.fields import strict_b64url
from ehcert.api.problems import UnexpectedErrors, http_error_handler
from ehcert.core.errors import EhcertError
from ehcert.pki.jws import b64url_encode, create_jws

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors, RunningPlatform

PROBLEM = "application/problem+json"
JOSE = {"Content-Type": "application/jose+json"}


def _problem(response: httpx.Response, status: int, kind: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"urn:ehcert:problem:{kind}"
    assert body["status"] == status
    return body  # type: ignore[no-any-return]


def _signed(actors: Actors, path: str, payload: dict[str, object]) -> httpx.Response:
    eid = actors.eid()
    url = actors.env.url + path
    nonce = httpx.get(actors.env.url + "/v1/nonce").headers["Replay-Nonce"]
    document = create_jws(
        json.dumps(payload).encode(),
        url=url,
        nonce=nonce,
        chain=list(eid.signer.chain),
        sign=eid.signer.sign,
    )
    return httpx.post(url, content=json.dumps(document), headers=JOSE)


# --- the framework's own errors ------------------------------------------------------


@pytest.mark.parametrize("path", ["/nothing-here", "/v1", "/v1/certificates/a/b", "/redoc"])
def test_an_unknown_route_is_a_not_found_problem(env: RunningPlatform, path: str) -> None:
    body = _problem(httpx.get(env.url + path), 404, "not-found")
    assert path in str(body["detail"])


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/qualities"), ("DELETE", "/v1/nonce"), ("PUT", "/ocsp"), ("POST", "/health")],
)
def test_a_wrong_method_is_a_method_not_allowed_problem(
    env: RunningPlatform, method: str, path: str
) -> None:
    response = httpx.request(method, env.url + path)
    _problem(response, 405, "method-not-allowed")
    assert response.headers["Allow"]


# --- strict payloads --------------------------------------------------------------------


def test_an_unknown_payload_field_is_refused_by_name_and_audited(actors: Actors) -> None:
    actors.add_provider()
    response = _signed(actors, "/v1/qualities", {"as_institution": "x"})
    body = _problem(response, 400, "malformed")
    assert body["field"] == "as_institution"
    assert "as_institution" in str(body["detail"])
    refused = [json.loads(r.detail) for r in actors.audit_records() if r.action == "refused"]
    assert refused[-1]["action"] == "POST /v1/qualities"
    assert refused[-1]["field"] == "as_institution"
    assert refused[-1]["kind"] == "malformed"


@pytest.mark.parametrize(
    "csr",
    [
        "MIIB===",  # wrong padding
        "MIIB!x",  # not the alphabet
        "MIIB+/ab",  # standard, not URL-safe, base64
        "MIIB\nabc",  # a line break
        "MIIBb",  # a length no base64 has
        "MIIBAB",  # trailing bits that are not zero: not canonical
    ],
)
def test_base64url_fields_are_decoded_strictly(actors: Actors, csr: str) -> None:
    actors.add_provider()
    response = _signed(actors, "/v1/certificates", {"csr": csr})
    body = _problem(response, 400, "malformed")
    assert body["field"] == "csr"


def test_padded_and_unpadded_base64url_both_decode() -> None:
    for data in (b"", b"a", b"ab", b"abc", b"\xfb\xff", bytes(range(256))):
        unpadded = b64url_encode(data)
        padded = unpadded + "=" * (-len(unpadded) % 4)
        assert strict_b64url(unpadded, "csr") == data
        assert strict_b64url(padded, "csr") == data
        if padded != unpadded:
            with pytest.raises(EhcertError) as refused:
                strict_b64url(padded + "=", "csr")
            assert refused.value.field == "csr"


def test_a_refused_jws_is_audited_as_anonymous_without_its_content(actors: Actors) -> None:
    body = json.dumps({"protected": "e30", "payload": "secret-payload", "signature": "AAAA"})
    response = httpx.post(actors.env.url + "/v1/certificates", content=body, headers=JOSE)
    _problem(response, 400, "malformed")
    records = [r for r in actors.audit_records() if r.action == "refused"]
    assert records[-1].actor == "anonymous"
    assert "secret-payload" not in records[-1].detail
    assert json.loads(records[-1].detail)["action"] == "POST /v1/certificates"


# --- the OpenAPI document ---------------------------------------------------------------


def test_the_openapi_document_lists_problems_and_signed_bodies(env: RunningPlatform) -> None:
    document = httpx.get(env.url + "/openapi.json").json()
    assert "Problem" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            for status in ("4XX", "5XX"):
                assert "application/problem+json" in responses[status]["content"], (path, status)
    signed = document["paths"]["/v1/certificates"]["post"]["requestBody"]["content"]
    schema = signed["application/jose+json"]["schema"]
    assert schema["required"] == ["protected", "payload", "signature"]
    assert schema["additionalProperties"] is False
    sts = document["paths"]["/sts/token"]["post"]
    assert "application/jose+json" in sts["requestBody"]["content"]
    ocsp = document["paths"]["/ocsp"]["post"]
    assert "application/ocsp-request" in ocsp["requestBody"]["content"]
    assert "application/ocsp-response" in ocsp["responses"]["200"]["content"]
    crl = document["paths"]["/crl/{name}.crl"]["get"]
    assert "application/pkix-crl" in crl["responses"]["200"]["content"]


# --- /docs without the internet ---------------------------------------------------------


def test_docs_load_their_scripts_and_styles_from_the_platform(env: RunningPlatform) -> None:
    page = httpx.get(env.url + "/docs")
    assert page.status_code == 200
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
    references += re.findall(r"""url:\s*'([^']+)'""", page.text)
    assert references, page.text
    assert not re.search(r"https?://", page.text), "the page names an outside host"
    assert not re.search(r"//[a-z0-9.-]+\.[a-z]{2,}/", page.text)
    for reference in references:
        assert reference.startswith("/"), reference
        assert httpx.get(env.url + reference).status_code == 200, reference
    script = httpx.get(env.url + "/docs/static/swagger-ui-bundle.js")
    assert "javascript" in script.headers["content-type"]
    assert '"validatorUrl": null' in page.text


# --- an error nobody expected -------------------------------------------------------------


def _failing_app() -> FastAPI:
    app = FastAPI()

    @app.get("/fails")
    def fails() -> None:
        raise RuntimeError("a bug " + "x" * 5000)

    app.add_middleware(UnexpectedErrors)
    app.add_exception_handler(HTTPException, http_error_handler)
    return app


def test_an_unexpected_error_is_an_internal_problem_logged_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = TestClient(_failing_app(), raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR):
        response = client.get("/fails")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "urn:ehcert:problem:internal"
    assert "Traceback" not in response.text
    assert "a bug" not in response.text
    lines = [r for r in caplog.records if r.name == "ehcert.api.problems"]
    assert len(lines) == 1
    message = lines[0].getMessage()
    assert "GET /fails" in message
    assert "RuntimeError" in message
    assert "\n" not in message
    assert len(message) < 500
    assert lines[0].exc_info is None

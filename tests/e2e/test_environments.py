"""Acceptance and production refuse each other's certificates, tokens and OCSP questions.

The authorisation table (``test_authorisation_table.py``) covers every signed route in
both directions; here the parts that are no signed request: an STS token of one
environment's STS offered to the other's eHealthBox check, and OCSP, which answers a
question about a certificate it is not authoritative for ``unauthorized`` (RFC 6960
section 2.3), never ``good``.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from cryptography.x509 import ocsp
from tests.e2e.conftest import Actors, RunningPlatform, ocsp_request

from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.ehbox.access import check_assertion
from ehcert.pki.jws import create_jws

JOSE = {"Content-Type": "application/jose+json"}


def _token(actors: Actors) -> tuple[bytes, KeyEntryRequestSigner]:
    """An STS token of the acceptance platform for the doctor's current certificate."""
    actors.add_provider()
    issued = actors.request(actors.eid(), 0)
    signer = KeyEntryRequestSigner(actors.entry(issued, 0))
    url = actors.env.url + "/sts/token"
    nonce = httpx.get(actors.env.url + "/v1/nonce").headers["Replay-Nonce"]
    body = create_jws(b"{}", url=url, nonce=nonce, chain=signer.chain, sign=signer.sign)
    answer = httpx.post(url, content=json.dumps(body), headers=JOSE)
    assert answer.status_code == 200, answer.text
    return answer.content, signer


def test_an_acceptance_token_is_the_wrong_environment_in_production(
    actors: Actors, production: RunningPlatform
) -> None:
    token, signer = _token(actors)
    acceptance = actors.env.platform
    sts_certificate = acceptance.sts.service().credential.certificate
    common = {
        "sts_certificate": sts_certificate,
        "issuer": f"{actors.env.url}/sts",
        "request_certificate": signer.chain[0],
        "now": actors.env.clock.now(),
    }
    check_assertion(token, environments=acceptance.environments, **common)  # its own: fine
    with pytest.raises(EhcertError) as refused:
        check_assertion(token, environments=production.platform.environments, **common)
    assert refused.value.kind is ErrorKind.WRONG_ENVIRONMENT
    assert refused.value.detail.startswith("The STS assertion's signer ")
    assert "belongs to the acceptance environment" in refused.value.detail
    assert "(wrong environment)" in refused.value.detail


def _ocsp_status(url: str, request: bytes) -> ocsp.OCSPResponseStatus:
    answer = httpx.post(
        url + "/ocsp", content=request, headers={"Content-Type": "application/ocsp-request"}
    )
    assert answer.status_code == 200
    return ocsp.load_der_ocsp_response(answer.content).response_status


def test_ocsp_answers_the_other_environment_unauthorized(
    actors: Actors, production: RunningPlatform
) -> None:
    actors.add_provider()
    issued = actors.request(actors.eid(), 0)
    acceptance_issuing = actors.env.platform.hierarchy.issuing.certificate
    acceptance_question = ocsp_request(issued.certificate, acceptance_issuing)
    assert _ocsp_status(actors.env.url, acceptance_question) is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert _ocsp_status(production.url, acceptance_question) is ocsp.OCSPResponseStatus.UNAUTHORIZED
    entry = actors.other_environment_entry(production, 1)
    production_question = ocsp_request(entry.certificate, entry.chain[0])
    assert _ocsp_status(actors.env.url, production_question) is (
        ocsp.OCSPResponseStatus.UNAUTHORIZED
    )


def test_the_production_ehealthbox_refuses_an_acceptance_holder_and_token(
    actors: Actors, production: RunningPlatform
) -> None:
    token, signer = _token(actors)
    url = production.url + "/ehbox/v3/box-info"
    nonce = httpx.get(production.url + "/v1/nonce").headers["Replay-Nonce"]
    payload = json.dumps({"assertion": base64.b64encode(token).decode()}).encode()
    body = create_jws(payload, url=url, nonce=nonce, chain=signer.chain, sign=signer.sign)
    answer = httpx.post(url, content=json.dumps(body), headers=JOSE)
    assert answer.status_code == 403, answer.text
    problem = answer.json()
    assert problem["type"] == "urn:ehcert:problem:wrong-environment"
    assert "(wrong environment)" in problem["detail"]

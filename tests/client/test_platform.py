"""The client's pure parts: error mapping, answer parsing, serials, request signers.

Talking to the platform is tested end to end against the real server (tests/e2e); here
only what needs no server: how an HTTP answer becomes an EhcertError or a value, and
that the signers produce JWSs the platform's own verifier accepts.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ehcert.client.answers import parse_issued, parse_status, problem_to_error
from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.keys import EidRequestSigner, KeyEntryRequestSigner
from ehcert.client.platform import PlatformClient, normalise_serial
from ehcert.client.results import CertificateState
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.jws import create_jws, verify_jws
from ehcert.pki.keystore import read_keystore_file

from .conftest import EID_PIN, KEYSTORE_PASSWORD, EidFiles, KeystoreFiles

BASE = "http://platform.test"


def _problem(status: int, kind: str, detail: str, field: str | None = None) -> httpx.Response:
    body = {
        "type": f"urn:ehcert:problem:{kind}",
        "title": kind,
        "status": status,
        "detail": detail,
        "field": field,
    }
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/problem+json"},
    )


def test_problem_document_becomes_the_same_error() -> None:
    detail = "Renewal opens on 2029-09-02 (90 days before the certificate expires on 2029-12-01)."
    error = problem_to_error(_problem(403, "renewal-too-early", detail, "serial"), BASE)
    assert error.kind is ErrorKind.RENEWAL_TOO_EARLY
    assert error.detail == detail
    assert error.field == "serial"


def test_unknown_kind_keeps_the_sentence() -> None:
    error = problem_to_error(_problem(400, "from-the-future", "Something new."), BASE)
    assert (error.kind, error.detail) == (ErrorKind.INTERNAL, "Something new.")


def test_answer_without_problem_document_names_the_status() -> None:
    gateway = httpx.Response(
        502, content=b"<html>Bad Gateway</html>", headers={"Content-Type": "text/html"}
    )
    error = problem_to_error(gateway, BASE)
    assert error.kind is ErrorKind.UNAVAILABLE
    assert error.detail == (
        f"The platform at {BASE} answered HTTP 502 Bad Gateway without an explanation."
    )
    assert problem_to_error(httpx.Response(500, json=[1]), BASE).kind is ErrorKind.INTERNAL


def test_unreachable_platform_is_unavailable(closed_port_url: str) -> None:
    with PlatformClient(closed_port_url, timeout=5) as client, pytest.raises(EhcertError) as caught:
        client.nonce()
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert caught.value.detail.startswith(f"The platform at {closed_port_url} cannot be reached: ")
    assert "\n" not in caught.value.detail


@pytest.mark.parametrize("url", ["ftp://x", "platform.test", ""])
def test_base_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        PlatformClient(url)


STATUS = {
    "serial": "1f2e",
    "subject": "CN=SSIN=79021802145",
    "holder": "SSIN=79021802145",
    "status": "revoked",
    "not_before": "2026-03-02T09:30:00Z",
    "not_after": "2029-03-02T09:30:00+00:00",
    "revoked_at": "2026-04-01T12:00:00",
    "revocation_reason": "keyCompromise",
    "renewal_opens": "2028-12-02T09:30:00Z",
    "renewal_window_open": False,
}


def test_status_answer_parses_into_aware_datetimes() -> None:
    status = parse_status(STATUS)
    assert status.status is CertificateState.REVOKED
    assert status.not_after == dt.datetime(2029, 3, 2, 9, 30, tzinfo=dt.UTC)
    # A time without offset is the platform's UTC.
    assert status.revoked_at == dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)
    assert all(m.tzinfo is not None for m in (status.not_before, status.renewal_opens))
    assert status.revocation_reason == "keyCompromise"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"renewal_window_open": "no"}, "'renewal_window_open'"),
        ({"not_after": "next tuesday"}, "not an ISO 8601 time"),
        ({"status": "suspended"}, "unknown status"),
        ({"serial": None}, "'serial'"),
    ],
)
def test_a_malformed_answer_is_an_internal_error(change: dict[str, object], why: str) -> None:
    with pytest.raises(EhcertError, match=why) as caught:
        parse_status({**STATUS, **change})
    assert caught.value.kind is ErrorKind.INTERNAL


def test_issued_answer_loads_the_certificates(keystore_files: KeystoreFiles) -> None:
    pem = keystore_files.certificate.public_bytes(serialization.Encoding.PEM).decode()
    issued = parse_issued(
        {
            "serial": "ab",
            "subject": "x",
            "holder": "SSIN=79021802145",
            "not_before": "2026-03-02T09:30:00Z",
            "not_after": "2029-03-02T09:30:00Z",
            "certificate": pem,
            "chain": [pem],
            "environment": "acceptance",
        }
    )
    assert issued.certificate == keystore_files.certificate
    assert issued.chain == (keystore_files.certificate,)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0A:1B", "a1b"), ("serial", None), ("0x00FF", "ff"), (" 7f ", "7f"), ("0", None)],
)
def test_serials_are_normalised_like_the_platform_writes_them(
    text: str, expected: str | None
) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="serial"):
            normalise_serial(text)
    else:
        assert normalise_serial(text) == expected


def test_eid_signer_sends_leaf_then_chain_and_verifies(eid_files: EidFiles) -> None:
    credential = Pkcs12EidCredential.from_file(eid_files.p12, EID_PIN)
    for alg in ("RS256", "PS256"):
        signer = EidRequestSigner(credential, alg)
        jws = create_jws(
            b"{}",
            url=f"{BASE}/v1/qualities",
            nonce="abc",
            chain=signer.chain,
            sign=signer.sign,
            alg=signer.alg,
        )
        verified = verify_jws(jws, expected_url=f"{BASE}/v1/qualities")
        assert verified.alg == alg
        assert verified.chain[0] == eid_files.certificate
        assert verified.chain[1:] == credential.chain


def test_keystore_signer_signs_rs256_with_the_authentication_key(
    keystore_files: KeystoreFiles,
) -> None:
    entry = read_keystore_file(keystore_files.path, KEYSTORE_PASSWORD).authentication()
    signer = KeyEntryRequestSigner(entry)
    jws = create_jws(
        b'{"serial":"1"}',
        url=f"{BASE}/v1/revocable",
        nonce="n0",
        chain=signer.chain,
        sign=signer.sign,
        alg=signer.alg,
    )
    verified = verify_jws(jws, expected_url=f"{BASE}/v1/revocable")
    assert verified.alg == "RS256"
    assert [c.subject for c in verified.chain] == [
        keystore_files.certificate.subject,
        keystore_files.certificate.issuer,
    ]
    assert isinstance(verified.chain[0], x509.Certificate)

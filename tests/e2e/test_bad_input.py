"""Bad input from outside never gets an HTTP 500: each case found by probing the platform.

Every request here goes over real HTTP to the platform (SQLite and PostgreSQL). The
answer is a problem document (RFC 9457) naming the field, or for OCSP an OCSPResponse
with an unsuccessful status (RFC 6960 section 2.3), and refusals of signed requests are
in the audit log.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import TYPE_CHECKING

import httpx
import pytest
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.pki.jws import b64url_encode, create_jws
from ehcert.pki.ocsp_status import cert_id_hashes

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors, RunningPlatform

PROBLEM = "application/problem+json"
JOSE = {"Content-Type": "application/jose+json"}
SIGNED_PATHS = [
    "/v1/certificates",
    "/v1/certificates/renew",
    "/v1/certificates/revoke",
    "/v1/qualities",
    "/v1/application-ids",
    "/v1/revocable",
    "/v1/renewal-check",
    "/v1/etk/challenges",
    "/v1/etk",
    "/sts/token",
]


def _nonce(env: RunningPlatform) -> str:
    return httpx.get(env.url + "/v1/nonce").headers["Replay-Nonce"]


def signed_post(
    env: RunningPlatform,
    path: str,
    payload: bytes,
    chain: list[x509.Certificate],
    sign: object,
) -> httpx.Response:
    """POST ``payload`` as a JWS signed by ``chain[0]``'s key through ``sign``."""
    url = env.url + path
    document = create_jws(payload, url=url, nonce=_nonce(env), chain=chain, sign=sign)  # type: ignore[arg-type]
    return httpx.post(url, content=json.dumps(document), headers=JOSE, timeout=30)


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == f"urn:ehcert:problem:{kind}", problem
    assert "Traceback" not in response.text
    return problem  # type: ignore[no-any-return]


def refusals(actors: Actors) -> list[dict[str, object]]:
    return [json.loads(r.detail) for r in actors.audit_records() if r.action == "refused"]


# --- OCSP: always an OCSPResponse ---------------------------------------------------------


def _ocsp_request(
    env: RunningPlatform,
    *,
    entries: int = 1,
    hash_algorithm: str = "sha1",
    serial: int = 5,
    nonces: int = 0,
) -> bytes:
    issuing = env.platform.hierarchy.issuing.certificate
    name_hash, key_hash = cert_id_hashes(issuing, hashes.SHA1())
    cert_id = {
        "hash_algorithm": {"algorithm": hash_algorithm},
        "issuer_name_hash": name_hash,
        "issuer_key_hash": key_hash,
        "serial_number": serial,
    }
    tbs: dict[str, object] = {"request_list": [{"req_cert": cert_id}] * entries}
    if nonces:
        tbs["request_extensions"] = [
            {"extn_id": "nonce", "extn_value": bytes([4, 16]) + bytes([n]) * 16}
            for n in range(nonces)
        ]
    return asn1_ocsp.OCSPRequest({"tbs_request": tbs}).dump()  # type: ignore[no-any-return]


OCSP_CASES = {
    "md5": ({"hash_algorithm": "md5"}, ocsp.OCSPResponseStatus.UNAUTHORIZED),
    "sha3": ({"hash_algorithm": "sha3_256"}, ocsp.OCSPResponseStatus.UNAUTHORIZED),
    "unknown-hash": ({"hash_algorithm": "1.2.3.4.5"}, ocsp.OCSPResponseStatus.UNAUTHORIZED),
    "no-entry": ({"entries": 0}, ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
    "two-entries": ({"entries": 2}, ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
    "duplicate-nonce": ({"nonces": 2}, ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
    "negative-serial": ({"serial": -5}, ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
    "long-serial": ({"serial": 2**200}, ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
}


def _ocsp_status(response: httpx.Response) -> ocsp.OCSPResponseStatus:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(response.content).response_status


@pytest.mark.parametrize("case", sorted(OCSP_CASES))
def test_an_odd_ocsp_request_gets_an_unsuccessful_ocsp_response(
    env: RunningPlatform, case: str
) -> None:
    shape, expected = OCSP_CASES[case]
    der = _ocsp_request(env, **shape)  # type: ignore[arg-type]
    posted = httpx.post(
        env.url + "/ocsp", content=der, headers={"Content-Type": "application/ocsp-request"}
    )
    got = httpx.get(env.url + "/ocsp/" + base64.b64encode(der).decode().replace("/", "%2F"))
    assert _ocsp_status(posted) is expected
    assert _ocsp_status(got) is expected


@pytest.mark.parametrize("path", ["MAQwAjAA", "not-base64!", "MAQwAjA", "%20", "AAAA"])
def test_garbage_in_an_ocsp_get_is_a_malformed_request(env: RunningPlatform, path: str) -> None:
    response = httpx.get(env.url + "/ocsp/" + path)
    assert _ocsp_status(response) is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_garbage_ocsp_post_is_a_malformed_request(env: RunningPlatform) -> None:
    for body in (b"", b"\x30\x04\x30\x02\x30\x00", b"\xff" * 100):
        response = httpx.post(env.url + "/ocsp", content=body)
        assert _ocsp_status(response) is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


# --- serials --------------------------------------------------------------------------------


@pytest.mark.parametrize("serial", ["zz", "renew", "-5", "0", "12g4", "a" * 100])
def test_a_non_hex_serial_in_the_path_is_malformed(env: RunningPlatform, serial: str) -> None:
    problem = assert_problem(httpx.get(env.url + f"/v1/certificates/{serial}"), 400, "malformed")
    assert problem["field"] == "serial"


def test_an_unknown_hex_serial_is_not_found(env: RunningPlatform) -> None:
    assert_problem(httpx.get(env.url + "/v1/certificates/0A1B"), 404, "not-found")


@pytest.mark.parametrize("path", ["/v1/certificates/renew", "/v1/certificates/revoke"])
def test_non_hex_serials_in_signed_requests_are_malformed_and_audited(
    actors: Actors, path: str
) -> None:
    actors.add_provider()
    eid = actors.eid()
    payload = {"serial": "zz"}
    if path.endswith("renew"):
        payload["csr"] = b64url_encode(actors.csr(0))
    response = signed_post(
        actors.env, path, json.dumps(payload).encode(), list(eid.signer.chain), eid.signer.sign
    )
    problem = assert_problem(response, 400, "malformed")
    assert problem["field"] == "serial"
    assert any(r["kind"] == "malformed" for r in refusals(actors))


def test_a_non_hex_serial_in_a_renewal_check_is_malformed(actors: Actors) -> None:
    actors.add_provider()
    eid = actors.eid()
    response = signed_post(
        actors.env,
        "/v1/renewal-check",
        b'{"serial": "not hex"}',
        list(eid.signer.chain),
        eid.signer.sign,
    )
    assert assert_problem(response, 400, "malformed")["field"] == "serial"


# --- the signer's certificate and the payload ------------------------------------------


@pytest.fixture(scope="module")
def broken_name_signer() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A self-made certificate whose issuer and subject CN hold bytes that are no UTF-8."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "QQQQQQQQ")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    broken = der.replace(b"\x0c\x08QQQQQQQQ", b"\x0c\x08\xff\xfe\xff\xfe\xff\xfe\xff\xfe")
    assert broken != der
    return x509.load_der_x509_certificate(broken), key


@pytest.mark.parametrize("path", SIGNED_PATHS)
def test_a_signer_certificate_with_invalid_name_bytes_is_refused(
    env: RunningPlatform,
    broken_name_signer: tuple[x509.Certificate, rsa.RSAPrivateKey],
    path: str,
) -> None:
    certificate, key = broken_name_signer
    response = signed_post(
        env,
        path,
        b"{}",
        [certificate],
        lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
    )
    assert response.status_code in (400, 401), response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] in (
        "urn:ehcert:problem:malformed",
        "urn:ehcert:problem:unauthorized",
        "urn:ehcert:problem:untrusted",
    )


def test_a_payload_nested_2000_deep_is_malformed(actors: Actors) -> None:
    eid = actors.eid()
    payload = b'{"a":' + b"[" * 2000 + b"]" * 2000 + b"}"
    response = signed_post(
        actors.env, "/v1/qualities", payload, list(eid.signer.chain), eid.signer.sign
    )
    assert_problem(response, 400, "malformed")


def test_a_jws_nested_2000_deep_is_malformed(env: RunningPlatform) -> None:
    body = b'{"protected":' + b"[" * 2000 + b"]" * 2000 + b"}"
    response = httpx.post(env.url + "/v1/qualities", content=body, headers=JOSE)
    assert_problem(response, 400, "malformed")


def test_a_csr_with_a_malformed_subject_is_a_bad_csr(actors: Actors) -> None:
    actors.add_provider()
    eid = actors.eid()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "QQQQQQQQ")]))
        .sign(actors.keys[0], hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    broken = csr.replace(b"\x0c\x08QQQQQQQQ", b"\x0c\x08\xff\xfe\xff\xfe\xff\xfe\xff\xfe")
    assert broken != csr
    response = signed_post(
        actors.env,
        "/v1/certificates",
        json.dumps({"csr": b64url_encode(broken)}).encode(),
        list(eid.signer.chain),
        eid.signer.sign,
    )
    problem = assert_problem(response, 400, "bad-csr")
    assert problem["field"] == "csr"
    assert any(r["kind"] == "bad-csr" for r in refusals(actors))


def test_a_malformed_encryption_certificate_is_refused_at_etk_registration(
    actors: Actors,
) -> None:
    actors.add_provider()
    issued = actors.request(actors.eid(), 0)
    signer = KeyEntryRequestSigner(actors.entry(issued, 0))
    for garbage in (b"\x30\x03\x02\x01\x01", b"not a certificate", b""):
        response = signed_post(
            actors.env,
            "/v1/etk/challenges",
            json.dumps({"encryption_certificate": b64url_encode(garbage)}).encode(),
            list(signer.chain),
            signer.sign,
        )
        problem = assert_problem(response, 400, "malformed")
        assert problem["field"] == "encryption_certificate"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/certificates", "institution"),
        ("/v1/certificates/revoke", "serial"),
        ("/v1/renewal-check", "serial"),
    ],
)
def test_a_lone_surrogate_is_malformed_and_audited(actors: Actors, path: str, field: str) -> None:
    actors.add_provider()
    eid = actors.eid()
    payload = {field: "\ud800"}
    if path == "/v1/certificates":
        payload["csr"] = b64url_encode(actors.csr(0))
    body = json.dumps(payload).encode()  # ensure_ascii: the surrogate travels as \\ud800
    assert b"\\ud800" in body
    response = signed_post(actors.env, path, body, list(eid.signer.chain), eid.signer.sign)
    problem = assert_problem(response, 400, "malformed")
    assert problem["field"] == field
    audited = refusals(actors)
    assert audited, "the refusal is missing from the audit log"
    assert audited[-1]["kind"] == "malformed"

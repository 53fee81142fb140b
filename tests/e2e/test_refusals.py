"""Every refusal over HTTP carries its ErrorKind and one sentence that names the cause.

Each scenario runs against a real platform (uvicorn, SQLite and PostgreSQL) through the
client SDK or raw HTTP; the assertions read the kind from the RFC 9457 problem ``type``
and check that the sentence names the thing that is wrong (the SSIN, the institution,
the date), because that sentence is all the person at the other end gets.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.keys import EidRequestSigner, KeyEntryRequestSigner
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.operations import revoke_test_eid, withdraw_provider
from ehcert.pki.jws import b64url_encode, create_jws

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors, RunningPlatform

SECOND_HOSPITAL = "NIHII-HOSPITAL=71000535"


def _refusal(call: Callable[[], object]) -> EhcertError:
    with pytest.raises(EhcertError) as refused:
        call()
    return refused.value


def _audited_refusals(actors: Actors) -> list[dict[str, object]]:
    return [json.loads(r.detail) for r in actors.audit_records() if r.action == "refused"]


# --- who is asking: the registry --------------------------------------------------------


def test_person_not_in_registry(actors: Actors) -> None:
    eid = actors.eid()
    error = _refusal(lambda: actors.request(eid, 0))
    assert error.kind is ErrorKind.NOT_IN_REGISTRY
    assert error.detail == "SSIN 79021802145 is not in the registry of care providers."
    assert _audited_refusals(actors) == [
        {"action": "request", "kind": "not-in-registry", "reason": error.detail}
    ]


def test_withdrawn_provider_is_refused_and_loses_live_certificates(actors: Actors) -> None:
    actors.add_provider()
    eid = actors.eid()
    before = actors.request(eid, 0)
    actors.env.clock.advance(dt.timedelta(days=3))

    revoked = withdraw_provider(actors.env.platform, actors.doctor, "registry-operator")

    assert [facts.serial_hex for facts in revoked] == [before.serial]
    with actors.env.client() as client:
        status = client.status(before.serial)
    assert status.status == "revoked"
    assert status.revocation_reason == "privilegeWithdrawn"
    assert status.revoked_at == actors.env.clock.now()
    error = _refusal(lambda: actors.request(eid, 1))
    assert error.kind is ErrorKind.WITHDRAWN
    assert "SSIN 79021802145 has been withdrawn" in error.detail


def test_pending_provider(actors: Actors) -> None:
    actors.add_provider(status="pending")
    eid = actors.eid()
    error = _refusal(lambda: actors.request(eid, 0))
    assert error.kind is ErrorKind.FORBIDDEN
    assert error.detail == ("The registration of SSIN 79021802145 is pending, not yet validated.")


# --- institutions -------------------------------------------------------------------------


def test_institution_request_without_mandate(actors: Actors) -> None:
    actors.add_provider()
    actors.add_institution(mandate_holder=None)
    eid = actors.eid()
    error = _refusal(lambda: actors.request(eid, 0, institution=actors.hospital))
    assert error.kind is ErrorKind.NO_MANDATE
    assert error.detail == (
        "SSIN 79021802145 holds no active mandate as certificate holder for "
        "NIHII-HOSPITAL=71000436."
    )


def test_institution_without_attestations(actors: Actors) -> None:
    actors.add_institution(actors.hospital, security_norms=False)
    actors.add_institution(SECOND_HOSPITAL, "CHU Saint-Pierre", data_sharing=False)
    eid = actors.eid()

    norms = _refusal(lambda: actors.request(eid, 0, institution=actors.hospital))
    sharing = _refusal(lambda: actors.request(eid, 0, institution=SECOND_HOSPITAL))

    assert norms.kind is ErrorKind.ATTESTATION_MISSING
    assert norms.detail == (
        "NIHII-HOSPITAL=71000436 has no attestation of the minimum security norms."
    )
    assert sharing.kind is ErrorKind.ATTESTATION_MISSING
    assert sharing.detail == (
        "NIHII-HOSPITAL=71000535 has no data-sharing authorisation on record."
    )


# --- the eID itself -----------------------------------------------------------------------


def test_expired_eid(actors: Actors) -> None:
    actors.add_provider()
    eid = actors.eid(validity=dt.timedelta(days=30))
    actors.env.clock.advance(dt.timedelta(days=31))
    error = _refusal(lambda: actors.request(eid, 0))
    assert error.kind is ErrorKind.CERTIFICATE_EXPIRED
    assert error.detail.startswith("The eID certificate of ")
    assert "79021802145" in error.detail
    assert error.detail.endswith("expired on 2026-04-01.")


def _homemade_eid(directory: Path, ca_key: rsa.RSAPrivateKey, key: rsa.RSAPrivateKey) -> Path:
    """A PKCS#12 'eID' whose citizen CA is self-made: right shape, wrong anchor."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Homemade Citizen CA"),
        ]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    holder = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Bryan Brouckaert (Authentication)"),
            x509.NameAttribute(NameOID.SURNAME, "Brouckaert"),
            x509.NameAttribute(NameOID.GIVEN_NAME, "Bryan"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "79021802145"),
        ]
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(holder)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    path = directory / "homemade-eid.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"Authentication", key, leaf, [ca], serialization.BestAvailableEncryption(b"1234")
        )
    )
    return path


def test_eid_from_an_untrusted_ca(actors: Actors, tmp_path: Path) -> None:
    actors.add_provider()
    path = _homemade_eid(tmp_path, actors.keys[6], actors.keys[7])
    credential = Pkcs12EidCredential.from_file(path, "1234")
    with actors.env.client() as client:
        error = _refusal(
            lambda: client.request_certificate(EidRequestSigner(credential), actors.csr(0))
        )
    assert error.kind is ErrorKind.UNTRUSTED
    assert "does not chain to a trusted anchor" in error.detail
    assert "Homemade Citizen CA" in error.detail


def test_revoked_test_eid(actors: Actors) -> None:
    actors.add_provider()
    eid = actors.eid()
    actors.env.clock.advance(dt.timedelta(hours=2))
    revoke_test_eid(actors.env.platform, eid.serial_hex, "keyCompromise")
    error = _refusal(lambda: actors.request(eid, 0))
    assert error.kind is ErrorKind.REVOKED
    assert "eID certificate" in error.detail
    assert "was revoked on 2026-03-02" in error.detail


# --- the request itself -------------------------------------------------------------------


def test_replayed_request_is_a_bad_nonce_with_a_fresh_nonce(actors: Actors) -> None:
    actors.add_provider()
    eid = actors.eid()
    url = actors.env.url + "/v1/certificates"
    nonce = httpx.get(actors.env.url + "/v1/nonce").headers["Replay-Nonce"]
    payload = {"csr": b64url_encode(actors.csr(0)), "institution": None, "application_id": None}
    signer = eid.signer
    body = json.dumps(
        create_jws(
            json.dumps(payload).encode(),
            url=url,
            nonce=nonce,
            chain=list(signer.chain),
            sign=signer.sign,
        )
    )
    headers = {"Content-Type": "application/jose+json"}

    first = httpx.post(url, content=body, headers=headers)
    replay = httpx.post(url, content=body, headers=headers)

    assert first.status_code == 201
    assert replay.status_code == 400
    assert replay.headers["content-type"] == "application/problem+json"
    problem = replay.json()
    assert problem["type"] == "urn:ehcert:problem:bad-nonce"
    assert "nonce is unknown, expired or already used" in problem["detail"]
    fresh = replay.headers["Replay-Nonce"]
    assert fresh and fresh != nonce
    # The offered nonce is a real one: a request signed with it is accepted.
    qualities_url = actors.env.url + "/v1/qualities"
    retry = httpx.post(
        qualities_url,
        content=json.dumps(
            create_jws(
                b"{}", url=qualities_url, nonce=fresh, chain=list(signer.chain), sign=signer.sign
            )
        ),
        headers=headers,
    )
    assert retry.status_code == 200, retry.text
    assert retry.json()["as_self"]["allowed"] is True
    issued = [r for r in actors.audit_records() if r.action == "issued"]
    assert len(issued) == 1


def test_renewal_too_early_says_when_the_window_opens(actors: Actors) -> None:
    actors.add_provider()
    issued = actors.request(actors.eid(), 0)
    actors.env.clock.advance(dt.timedelta(days=200))
    with actors.env.client() as client:
        error = _refusal(
            lambda: client.renew(
                KeyEntryRequestSigner(actors.entry(issued, 0)), actors.csr(1), issued.serial
            )
        )
        check = client.renewal_check(KeyEntryRequestSigner(actors.entry(issued, 0)), issued.serial)
    assert error.kind is ErrorKind.RENEWAL_TOO_EARLY
    assert error.detail == (
        "Renewal opens on 2028-12-02 (90 days before the certificate expires on 2029-03-02)."
    )
    assert check.accepted is False
    assert check.kind is ErrorKind.RENEWAL_TOO_EARLY
    assert check.reason == error.detail


def test_renewal_after_expiry_says_a_new_request_is_needed(actors: Actors) -> None:
    actors.add_provider()
    eid = actors.eid()
    issued = actors.request(eid, 0)
    actors.env.clock.set(dt.datetime(2029, 3, 3, 9, 30, tzinfo=dt.UTC))
    with actors.env.client() as client:
        with_eid = _refusal(lambda: client.renew(eid.signer, actors.csr(1), issued.serial))
        with_certificate = _refusal(
            lambda: client.renew(
                KeyEntryRequestSigner(actors.entry(issued, 0)), actors.csr(1), issued.serial
            )
        )
    assert with_eid.kind is ErrorKind.CERTIFICATE_EXPIRED
    assert with_eid.detail == (
        "The certificate expired on 2029-03-02; renewal is no longer possible, make a new "
        "request with your eID."
    )
    assert with_certificate.kind is ErrorKind.CERTIFICATE_EXPIRED
    assert "expired on 2029-03-02" in with_certificate.detail
    assert "make a new request with your eID" in with_certificate.detail


def _csr_with(key: rsa.RSAPrivateKey, case: str) -> bytes:
    subject = x509.Name([])
    if case == "subject":
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SSIN=79021802145")])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if case == "san":
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name("bryan@example.org")]), critical=False
        )
    elif case == "other-extension":
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.32473.7"), b"\x05\x00"),
            critical=False,
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize(
    ("case", "kind", "named"),
    [
        pytest.param(
            "subject",
            ErrorKind.BAD_CSR,
            "The CSR has the subject 'CN=SSIN=79021802145'",
            id="subject",
        ),
        pytest.param(
            "san", ErrorKind.BAD_CSR, "The CSR asks for a subject alternative name", id="san"
        ),
        pytest.param(
            "other-extension",
            ErrorKind.BAD_CSR,
            "The CSR asks for the extension 1.3.6.1.4.1.32473.7",
            id="other-extension",
        ),
        pytest.param(
            "rsa-1024",
            ErrorKind.BAD_KEY,
            "The CSR key is RSA 1024 bits; the minimum is 2048 bits",
            id="rsa-1024",
        ),
    ],
)
def test_csr_that_asks_for_more_than_a_key_or_has_a_weak_key(
    actors: Actors, weak_rsa_key: rsa.RSAPrivateKey, case: str, kind: ErrorKind, named: str
) -> None:
    actors.add_provider()
    eid = actors.eid()
    key = weak_rsa_key if case == "rsa-1024" else actors.keys[0]
    csr = _csr_with(key, case)
    with actors.env.client() as client:
        error = _refusal(lambda: client.request_certificate(eid.signer, csr))
    assert error.kind is kind
    assert error.field == "csr"
    assert error.detail.startswith(named)
    assert [r.action for r in actors.audit_records()][-1] == "refused"


def test_body_over_the_size_limit_is_a_413_problem(env: RunningPlatform) -> None:
    url = env.url + "/v1/certificates"
    limit = env.platform.settings.max_body_bytes
    oversized = b'{"protected":"' + b"A" * limit + b'"}'

    declared = httpx.post(url, content=oversized, headers={"Content-Type": "application/jose+json"})
    streamed = httpx.post(
        url,
        content=iter([oversized[i : i + 8192] for i in range(0, len(oversized), 8192)]),
        headers={"Content-Type": "application/jose+json"},
    )

    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "urn:ehcert:problem:payload-too-large"
        assert problem["status"] == 413
        assert problem["detail"] == (f"The request body is larger than the limit of {limit} bytes.")
    assert "transfer-encoding" not in declared.request.headers
    assert streamed.request.headers["transfer-encoding"] == "chunked"

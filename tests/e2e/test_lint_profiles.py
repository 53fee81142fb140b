"""pkilint finds nothing at WARNING or above in anything the running platform signs.

The CA lints every object before signing it (``pki.signing``), but that lint sees the
object with a placeholder signature. This test lints the real DER as relying parties
get it over HTTP: the CA certificates from the AIA caIssuers URLs, issued
certificates, a test eID certificate, every CRL (with entries, including one revoked
for an unspecified reason, whose reason code RFC 5280 section 5.3.1 wants omitted)
and OCSP responses for a good, a revoked and an unknown certificate.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from ehcert.manager.revocation import revoke_with_eid
from ehcert.operations import revoke_test_eid
from ehcert.pki.lint import (
    Finding,
    LintProfile,
    blocking,
    lint_certificate,
    lint_crl,
    lint_ocsp_response,
)
from ehcert.store.testing import example_ssin

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors

CRL_NAMES = ("acceptance", "acceptance-root", "acceptance-eid", "acceptance-eid-root")


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _get(url: str, media_type: str) -> bytes:
    response = httpx.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text}"
    assert response.headers["content-type"] == media_type
    return response.content


def _ocsp(url: str, certificate: x509.Certificate, issuer: x509.Certificate) -> bytes:
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(certificate, issuer, hashes.SHA1())
        .add_extension(x509.OCSPNonce(b"lint-" + certificate.serial_number.to_bytes(20)), False)
        .build()
    )
    response = httpx.post(
        f"{url}/ocsp",
        content=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    assert response.status_code == 200
    return response.content


def _ocsp_unknown(url: str, known: x509.Certificate, issuer: x509.Certificate) -> bytes:
    """A request naming our issuing CA but a serial it never issued."""
    probe = ocsp.OCSPRequestBuilder().add_certificate(known, issuer, hashes.SHA1()).build()
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            probe.issuer_name_hash, probe.issuer_key_hash, 0x7E57, hashes.SHA1()
        )
        .build()
    )
    response = httpx.post(
        f"{url}/ocsp",
        content=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    assert response.status_code == 200
    return response.content


def test_everything_the_platform_signs_is_lint_clean(actors: Actors) -> None:
    url = actors.env.url
    actors.add_provider()
    actors.add_provider(example_ssin(41), first_name="Eva", last_name="Peeters", profession="nurse")
    actors.add_institution()
    eid = actors.eid()
    other_eid = actors.eid(example_ssin(41), first_name="Eva", last_name="Peeters")
    person = actors.request(eid, 0)
    institution = actors.request(eid, 1, institution=actors.hospital, application_id="MYAPP")
    nurse = actors.request(other_eid, 2)
    actors.env.clock.advance(dt.timedelta(hours=1))
    with actors.env.client() as client:
        revoke_with_eid(client, eid.credential, person.serial, "keyCompromise")
        revoke_with_eid(client, other_eid.credential, nurse.serial, "unspecified")
        ca = client.ca_certificates()
    revoke_test_eid(actors.env.platform, other_eid.serial_hex, "keyCompromise")

    def ca_der(name: str) -> bytes:
        return _get(f"{url}/ca/{name}.crt", "application/pkix-cert")

    issuing = x509.load_der_x509_certificate(ca_der("acceptance-issuing"))
    certificates: dict[str, tuple[bytes, LintProfile]] = {
        "root": (ca_der("acceptance-root"), LintProfile.ROOT_CA),
        "issuing": (ca_der("acceptance-issuing"), LintProfile.ISSUING_CA),
        "ocsp signer": (_der(ca.ocsp_signer), LintProfile.OCSP_SIGNER),
        "person": (_der(person.certificate), LintProfile.END_ENTITY),
        "institution with app id": (_der(institution.certificate), LintProfile.END_ENTITY),
        "test eID root": (ca_der("acceptance-eid-root"), LintProfile.ROOT_CA),
        "citizen CA": (ca_der("acceptance-eid-ca"), LintProfile.ISSUING_CA),
        "test eID authentication": (
            _der(eid.credential.certificate),
            LintProfile.EID_AUTHENTICATION,
        ),
    }
    crls = {name: _get(f"{url}/crl/{name}.crl", "application/pkix-crl") for name in CRL_NAMES}
    responses = {
        "good": _ocsp(url, institution.certificate, issuing),
        "revoked": _ocsp(url, person.certificate, issuing),
        "unknown": _ocsp_unknown(url, institution.certificate, issuing),
    }

    # The objects are what they claim to be, so the lint below is of the right things.
    assert issuing == ca.issuing
    assert x509.load_der_x509_certificate(certificates["root"][0]) == ca.root
    issuing_crl = x509.load_der_x509_crl(crls["acceptance"])
    assert {r.serial_number for r in issuing_crl} == {
        person.certificate.serial_number,
        nurse.certificate.serial_number,
    }
    eid_crl = x509.load_der_x509_crl(crls["acceptance-eid"])
    assert [format(r.serial_number, "x") for r in eid_crl] == [other_eid.serial_hex]
    statuses = {
        name: ocsp.load_der_ocsp_response(der).certificate_status for name, der in responses.items()
    }
    assert statuses == {
        "good": ocsp.OCSPCertStatus.GOOD,
        "revoked": ocsp.OCSPCertStatus.REVOKED,
        "unknown": ocsp.OCSPCertStatus.UNKNOWN,
    }

    findings: dict[str, list[Finding]] = {}
    for name, (der, profile) in certificates.items():
        findings[f"certificate {name}"] = lint_certificate(der, profile)
    for name, der in crls.items():
        findings[f"CRL {name}"] = lint_crl(der)
    for name, der in responses.items():
        findings[f"OCSP {name}"] = lint_ocsp_response(der)

    assert len(findings) == 15
    # The lint has teeth: the same certificate judged against the wrong profile fails.
    assert blocking(lint_certificate(_der(person.certificate), LintProfile.OCSP_SIGNER))
    bad = {name: [str(f) for f in blocking(found)] for name, found in findings.items()}
    assert {name: found for name, found in bad.items() if found} == {}

"""Reading an OCSP answer as a relying party: is it authentic, current and about this cert?

A relying party that asks a responder about a certificate must not believe just any
bytes that come back. :func:`status_from_ocsp_response` accepts an answer only when
(RFC 6960 sections 3.2 and 4.2.2.2):

1. the response status is ``successful`` and it is a BasicOCSPResponse;
2. it is signed either by the certificate's issuer itself, or by a delegated responder
   whose certificate is in the answer, was issued (and signed) by that same issuer,
   carries extendedKeyUsage id-kp-OCSPSigning and is within its validity at ``at``;
3. its signature verifies with that key (RSA PKCS#1 v1.5 or ECDSA);
4. one SingleResponse names the certificate: same serial, and issuer name and key
   hashes that match the issuer under the hash the responder used (section 4.1.1);
5. it is current: ``thisUpdate`` is not after ``at`` (allowing a small clock skew) and
   ``nextUpdate``, when present, is not before it (section 4.2.2.1).

Anything else gives UNKNOWN with the reason, so a forged, stale or misdirected answer
can never turn into GOOD. Revoked answers carry the date and reason, so the caller can
weigh them against a signing time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from ehcert.pki.revocation import (
    CERTIFICATE_PARSE_ERRORS,
    RevocationStatus,
    certificate_extension,
    describe_name,
)

CLOCK_SKEW = dt.timedelta(minutes=5)
"""How far a responder's clock may run ahead of ours before its answer is refused."""

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def ocsp_request_for(certificate: x509.Certificate, issuer: x509.Certificate) -> bytes:
    """A DER OCSP request for one certificate, CertID hashed with SHA-1.

    SHA-1 is what RFC 5019 section 2.1.1 makes every lightweight responder support; here
    it only names the certificate (it is no signature), so its collisions do not matter.
    """
    builder = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA1())  # noqa: S303
    return builder.build().public_bytes(serialization.Encoding.DER)


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    hasher = hashes.Hash(algorithm)
    hasher.update(data)
    return hasher.finalize()


def cert_id_hashes(
    issuer: x509.Certificate, algorithm: hashes.HashAlgorithm
) -> tuple[bytes, bytes]:
    """(issuerNameHash, issuerKeyHash) of RFC 6960 section 4.1.1 under ``algorithm``: the
    hash of the issuer's DER name and of the value of its subjectPublicKey BIT STRING.
    Both sides of OCSP use it: the responder to recognise its CA, a relying party to
    recognise the answer."""
    name_hash = _digest(algorithm, issuer.subject.public_bytes())
    key_bits = issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The key hash covers the BIT STRING's contents, not the whole SubjectPublicKeyInfo.
    spki = asn1_keys.PublicKeyInfo.load(key_bits)
    return name_hash, _digest(algorithm, spki["public_key"].contents[1:])


def _signature_valid(key: object, response: ocsp.OCSPResponse) -> bool:
    algorithm = response.signature_hash_algorithm
    if algorithm is None:
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(
                response.signature, response.tbs_response_bytes, padding.PKCS1v15(), algorithm
            )
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(algorithm))
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return True


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _responder_key(
    response: ocsp.OCSPResponse, issuer: x509.Certificate, at: dt.datetime
) -> tuple[object | None, str]:
    """The key that may have signed ``response``, or None and why not (step 2)."""
    issuer_key_hash = cert_id_hashes(issuer, hashes.SHA1())[1]  # noqa: S303 - a name, not a signature
    if response.responder_name == issuer.subject or response.responder_key_hash == (
        issuer_key_hash
    ):
        return issuer.public_key(), ""
    for candidate in response.certificates:
        named = (
            response.responder_name == candidate.subject
            if response.responder_name is not None
            else response.responder_key_hash == cert_id_hashes(candidate, hashes.SHA1())[1]  # noqa: S303
        )
        if not named:
            continue
        if not _issued_by(candidate, issuer):
            return None, "the responder certificate was not issued by the certificate's issuer"
        usage = certificate_extension(candidate, x509.ExtendedKeyUsage)
        if usage is None or ExtendedKeyUsageOID.OCSP_SIGNING not in usage:
            return None, "the responder certificate is not authorised to sign OCSP answers"
        if not candidate.not_valid_before_utc <= at <= candidate.not_valid_after_utc:
            return None, "the responder certificate is not valid at the time checked"
        return candidate.public_key(), ""
    return None, "the answer is signed by a responder that is neither the issuer nor delegated"


@dataclass(frozen=True, slots=True)
class OcspAnswer:
    """What one OCSP response says of one certificate, and until when it may be reused:
    the matched SingleResponse's nextUpdate (RFC 6960 section 4.2.2.1), None when absent."""

    status: RevocationStatus
    next_update: dt.datetime | None = None


def status_from_ocsp_response(
    der: bytes, certificate: x509.Certificate, issuer: x509.Certificate, at: dt.datetime
) -> RevocationStatus:
    """The status ``der`` gives ``certificate`` at ``at``; UNKNOWN unless it is sound."""
    return read_ocsp_answer(der, certificate, issuer, at).status


def read_ocsp_answer(
    der: bytes, certificate: x509.Certificate, issuer: x509.Certificate, at: dt.datetime
) -> OcspAnswer:
    """:func:`status_from_ocsp_response` with the matched answer's nextUpdate (a cache's
    lifetime), from one parse of ``der``."""
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError:
        return OcspAnswer(
            RevocationStatus.unknown("the OCSP answer is not a readable OCSP response")
        )
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return OcspAnswer(
            RevocationStatus.unknown(
                f"the OCSP responder answered {response.response_status.name.lower()}"
            )
        )
    try:
        key, why = _responder_key(response, issuer, at)
        if key is None:
            return OcspAnswer(RevocationStatus.unknown(f"the OCSP answer is not trusted: {why}"))
        if not _signature_valid(key, response):
            return OcspAnswer(
                RevocationStatus.unknown("the OCSP answer's signature does not verify")
            )
        for single in response.responses:
            algorithm_type = _HASHES.get(single.hash_algorithm.name)
            if algorithm_type is None or single.serial_number != certificate.serial_number:
                continue
            if (single.issuer_name_hash, single.issuer_key_hash) != cert_id_hashes(
                issuer, algorithm_type()
            ):
                continue
            return OcspAnswer(_current_status(single, at), single.next_update_utc)
    except CERTIFICATE_PARSE_ERRORS:
        return OcspAnswer(RevocationStatus.unknown("a part of the OCSP answer is damaged"))
    return OcspAnswer(
        RevocationStatus.unknown(
            f"the OCSP answer says nothing about serial {certificate.serial_number:x} of "
            f"{describe_name(issuer.subject)}"
        )
    )


def _current_status(single: ocsp.OCSPSingleResponse, at: dt.datetime) -> RevocationStatus:
    """Step 5, then the answer itself."""
    if single.this_update_utc > at + CLOCK_SKEW:
        return RevocationStatus.unknown("the OCSP answer was produced in the future")
    next_update = single.next_update_utc
    if next_update is not None and next_update < at - CLOCK_SKEW:
        return RevocationStatus.unknown("the OCSP answer is out of date")
    if single.certificate_status is ocsp.OCSPCertStatus.GOOD:
        return RevocationStatus.good()
    if single.certificate_status is ocsp.OCSPCertStatus.REVOKED:
        revoked_at = single.revocation_time_utc
        if revoked_at is None:  # pragma: no cover - cryptography always sets it for REVOKED
            return RevocationStatus.unknown("the OCSP answer says revoked without a date")
        return RevocationStatus.revoked(single.revocation_reason, revoked_at)
    return RevocationStatus.unknown("the OCSP responder does not know the certificate")

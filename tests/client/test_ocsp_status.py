"""A relying party believes an OCSP answer only when it is authentic, current and on topic.

``status_from_ocsp_response`` (RFC 6960 sections 3.2, 4.1.1, 4.2.2.1, 4.2.2.2) against
answers built here: by the issuer, by a delegated responder, by an impostor that copies
the issuer's name, about another serial, stale, from the future, and unsigned errors.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ehcert.pki.ocsp_status import ocsp_request_for, status_from_ocsp_response
from ehcert.pki.revocation import RevocationState

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _certificate(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: rsa.RSAPrivateKey,
    *,
    ca: bool = False,
    ocsp_signing: bool = False,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=30))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ocsp_signing:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class Pki:
    ca: x509.Certificate
    ca_key: rsa.RSAPrivateKey
    leaf: x509.Certificate
    responder: x509.Certificate
    responder_key: rsa.RSAPrivateKey
    impostor: x509.Certificate
    impostor_key: rsa.RSAPrivateKey
    plain: x509.Certificate  # issued by the CA, but not for OCSP signing
    stranger: x509.Certificate  # another name, issued by nobody we know


@pytest.fixture(scope="module")
def pki(session_rsa_keys: list[rsa.RSAPrivateKey]) -> Pki:
    ca_key, leaf_key, responder_key, impostor_key = session_rsa_keys[:4]
    ca = _certificate("Issuing CA", ca_key, None, ca_key, ca=True)
    leaf = _certificate("Doctor", leaf_key, ca, ca_key)
    responder = _certificate("OCSP responder", responder_key, ca, ca_key, ocsp_signing=True)
    # Same name as the CA, own key: what a forger would send.
    impostor = _certificate("Issuing CA", impostor_key, None, impostor_key, ca=True)
    plain = _certificate("Not a responder", impostor_key, ca, ca_key)
    stranger = _certificate("Stranger", impostor_key, None, impostor_key)
    return Pki(ca, ca_key, leaf, responder, responder_key, impostor, impostor_key, plain, stranger)


def _answer(
    pki: Pki,
    *,
    signer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None = None,
    serial_of: x509.Certificate | None = None,
    status: ocsp.OCSPCertStatus = ocsp.OCSPCertStatus.GOOD,
    this_update: dt.datetime = NOW - dt.timedelta(hours=1),
    next_update: dt.datetime | None = NOW + dt.timedelta(hours=23),
    include_certificate: bool = True,
) -> bytes:
    responder_cert, responder_key = signer or (pki.ca, pki.ca_key)
    revoked = status is ocsp.OCSPCertStatus.REVOKED
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=serial_of or pki.leaf,
            issuer=pki.ca,
            algorithm=hashes.SHA1(),
            cert_status=status,
            this_update=this_update,
            next_update=next_update,
            revocation_time=NOW - dt.timedelta(days=1) if revoked else None,
            revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.NAME, responder_cert)
    )
    if include_certificate and responder_cert is not pki.ca:
        builder = builder.certificates([responder_cert])
    response = builder.sign(responder_key, hashes.SHA256())
    return response.public_bytes(serialization.Encoding.DER)


def _state(pki: Pki, der: bytes) -> tuple[RevocationState, str | None]:
    status = status_from_ocsp_response(der, pki.leaf, pki.ca, NOW)
    return status.state, status.detail


def test_the_request_names_the_certificate(pki: Pki) -> None:
    request = ocsp.load_der_ocsp_request(ocsp_request_for(pki.leaf, pki.ca))
    assert request.serial_number == pki.leaf.serial_number


def test_issuer_signed_good_and_revoked_answers_are_believed(pki: Pki) -> None:
    assert _state(pki, _answer(pki))[0] is RevocationState.GOOD
    revoked = status_from_ocsp_response(
        _answer(pki, status=ocsp.OCSPCertStatus.REVOKED), pki.leaf, pki.ca, NOW
    )
    assert revoked.state is RevocationState.REVOKED
    assert revoked.reason is x509.ReasonFlags.key_compromise


def test_a_delegated_responder_of_the_issuer_is_believed(pki: Pki) -> None:
    der = _answer(pki, signer=(pki.responder, pki.responder_key))
    assert _state(pki, der)[0] is RevocationState.GOOD


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("impostor", "signature does not verify"),
        ("stranger", "not issued by the certificate's issuer"),
        ("nameless", "neither the issuer nor delegated"),
        ("not_delegated", "not authorised"),
        ("other_serial", "says nothing about serial"),
        ("stale", "out of date"),
        ("future", "in the future"),
        ("unknown", "does not know"),
    ],
)
def test_unsound_answers_give_unknown_never_good(pki: Pki, change: str, words: str) -> None:
    if change == "impostor":
        der = _answer(pki, signer=(pki.impostor, pki.impostor_key), include_certificate=False)
    elif change == "stranger":
        der = _answer(pki, signer=(pki.stranger, pki.impostor_key))
    elif change == "nameless":  # names a responder whose certificate it does not carry
        der = _answer(pki, signer=(pki.stranger, pki.impostor_key), include_certificate=False)
    elif change == "not_delegated":
        der = _answer(pki, signer=(pki.plain, pki.impostor_key))  # no OCSPSigning EKU
    elif change == "other_serial":
        der = _answer(pki, serial_of=pki.responder)
    elif change == "stale":
        der = _answer(
            pki, this_update=NOW - dt.timedelta(days=3), next_update=NOW - dt.timedelta(days=2)
        )
    elif change == "future":
        der = _answer(pki, this_update=NOW + dt.timedelta(hours=2))
    else:
        der = _answer(pki, status=ocsp.OCSPCertStatus.UNKNOWN)
    state, detail = _state(pki, der)
    assert state is RevocationState.UNKNOWN
    assert words in (detail or "")


def test_a_forged_signature_is_refused(pki: Pki) -> None:
    der = bytearray(_answer(pki))
    der[-1] ^= 0x01  # the last byte belongs to the signature BIT STRING
    state, detail = _state(pki, bytes(der))
    assert state is RevocationState.UNKNOWN
    assert "signature" in (detail or "")


def test_error_answers_and_garbage_give_unknown(pki: Pki) -> None:
    error = ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.UNAUTHORIZED
    ).public_bytes(serialization.Encoding.DER)
    assert _state(pki, error) == (
        RevocationState.UNKNOWN,
        "the OCSP responder answered unauthorized",
    )
    assert _state(pki, b"\x30\x03garbage")[0] is RevocationState.UNKNOWN

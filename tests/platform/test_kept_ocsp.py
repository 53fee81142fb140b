"""Kept OCSP answers: served only while nothing that made them has changed."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from ehcert.ca.service_certificates import _usable_window, responder_usable
from ehcert.platform.kept_ocsp import KeptOcspAnswers

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
VALIDITY = dt.timedelta(hours=2)


def _certificate(key: ec.EllipticCurvePrivateKey, name: str, days: int = 90) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0 - dt.timedelta(days=1))
        .not_valid_after(T0 + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


class _Responder:
    """Signs a GOOD answer for whatever certificate is asked about, and counts them."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.certificate = _certificate(self.key, "responder")
        self.signed = 0
        self.now = T0

    def answer(self, request_der: bytes) -> bytes:
        self.signed += 1
        request = ocsp.load_der_ocsp_request(request_der)
        response = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                request.issuer_name_hash,
                request.issuer_key_hash,
                request.serial_number,
                request.hash_algorithm,
                ocsp.OCSPCertStatus.GOOD,
                self.now,
                self.now + VALIDITY,
                None,
                None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self.certificate)
            .sign(self.key, hashes.SHA256())
        )
        return response.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def issuer() -> x509.Certificate:
    return _certificate(ec.generate_private_key(ec.SECP256R1()), "issuer")


def _request(issuer: x509.Certificate, serial: int, *, nonce: bool = False) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        b"\x01" * 20, b"\x02" * 20, serial, hashes.SHA1()
    )
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(b"\x03" * 16), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


class _World:
    def __init__(self, max_kept: int = 100) -> None:
        self.responder = _Responder()
        self.token = 0
        self.in_use: x509.Certificate | None = self.responder.certificate
        self.kept = KeptOcspAnswers(
            self.responder.answer,
            lambda: self.token,
            lambda now: self.in_use,
            lambda: self.responder.now,
            max_kept=max_kept,
        )


def test_a_repeated_request_is_answered_without_a_signature(issuer: x509.Certificate) -> None:
    world, request = _World(), _request(issuer, 7)
    assert world.kept.kept(request) is None  # never asked: nothing kept
    first = world.kept.answer(request)
    assert world.kept.kept(request) == first == world.kept.answer(request)
    assert world.responder.signed == 1


def test_a_decision_drops_the_kept_answer(issuer: x509.Certificate) -> None:
    world, request = _World(), _request(issuer, 7)
    world.kept.answer(request)
    world.token += 1  # a revocation, say
    assert world.kept.kept(request) is None
    assert len(world.kept) == 0  # dropped, not only skipped
    world.kept.answer(request)
    assert world.responder.signed == 2


def test_a_replaced_responder_drops_the_answer_even_if_its_certificate_is_equal(
    issuer: x509.Certificate,
) -> None:
    """Compared by identity: a reloaded responder (another object) is a change."""
    world, request = _World(), _request(issuer, 7)
    world.kept.answer(request)
    world.in_use = x509.load_der_x509_certificate(
        world.responder.certificate.public_bytes(serialization.Encoding.DER)
    )
    assert world.in_use == world.responder.certificate
    assert world.kept.kept(request) is None
    world.in_use = None  # something due: nothing is kept until the responder is renewed
    world.kept.answer(request)
    assert world.kept.kept(request) is None


def test_an_answer_is_kept_for_half_its_validity_and_not_before_it_was_made(
    issuer: x509.Certificate,
) -> None:
    world, request = _World(), _request(issuer, 7)
    world.kept.answer(request)
    world.responder.now = T0 + VALIDITY / 2 - dt.timedelta(seconds=1)
    assert world.kept.kept(request) is not None
    world.responder.now = T0 + VALIDITY / 2
    assert world.kept.kept(request) is None
    world.responder.now = T0
    world.kept.answer(request)
    world.responder.now = T0 - dt.timedelta(seconds=1)  # the clock went back
    assert world.kept.kept(request) is None


def test_a_request_with_a_nonce_is_never_kept(issuer: x509.Certificate) -> None:
    world, request = _World(), _request(issuer, 7, nonce=True)
    world.kept.answer(request)
    world.kept.answer(request)
    assert world.kept.kept(request) is None
    assert world.responder.signed == 2


def test_the_least_recently_served_answer_goes_first(issuer: x509.Certificate) -> None:
    world = _World(max_kept=2)
    first, second, third = (_request(issuer, serial) for serial in (1, 2, 3))
    world.kept.answer(first)
    world.kept.answer(second)
    assert world.kept.kept(first) is not None  # served: now the most recent
    world.kept.answer(third)
    assert len(world.kept) == 2
    assert world.kept.kept(second) is None
    assert world.kept.kept(first) is not None and world.kept.kept(third) is not None


@pytest.mark.parametrize(
    "offset",
    [dt.timedelta(0), dt.timedelta(microseconds=-1), dt.timedelta(microseconds=1)],
)
def test_the_responder_window_is_where_responder_usable_holds(offset: dt.timedelta) -> None:
    certificate = _certificate(ec.generate_private_key(ec.SECP256R1()), "responder")
    _, usable_from, renew_at = _usable_window(certificate)
    for edge in (usable_from, renew_at):
        now = edge + offset
        assert (usable_from <= now < renew_at) == responder_usable(certificate, now)

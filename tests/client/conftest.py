"""Fixtures for the client SDK and Certificate Manager unit tests (no server needed).

Keys are made once per session. The "eID" is a PKCS#12 file whose certificate has the
SSIN in its subject ``serialNumber``, as a Belgian eID authentication certificate does;
the "eHealth keystore" holds a person certificate with the eHealth subject, issued by a
throw-away CA, valid 36 months from ``ISSUED_AT``. Keystores are written with few PBKDF2
iterations: these tests exercise the manager, not the key derivation.
"""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ehcert.core.names import person_subject
from ehcert.core.policy import certificate_validity
from ehcert.pki.keystore import MIN_ITERATIONS, write_keystore_file
from ehcert.pki.keystore_entries import KeyEntry, Keystore

SSIN = "79021802145"
ISSUED_AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
EID_PIN = "1234"
KEYSTORE_PASSWORD = "correct horse"


@dataclass(frozen=True)
class Issued:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True)
class EidFiles:
    p12: Path
    pin_file: Path
    certificate: x509.Certificate


@dataclass(frozen=True)
class KeystoreFiles:
    path: Path
    password_file: Path
    certificate: x509.Certificate


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: Issued | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
    *,
    ca: bool,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer.key if issuer else key, hashes.SHA256())


@pytest.fixture(scope="session")
def test_ca() -> Issued:
    key = _rsa()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client tests CA")])
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    cert = _certificate(name, key, None, start, start + dt.timedelta(days=3650), ca=True)
    return Issued(key, cert)


@pytest.fixture(scope="session")
def eid_files(tmp_path_factory: pytest.TempPathFactory, test_ca: Issued) -> EidFiles:
    key = _rsa()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Alice Peeters (Authentication)"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, SSIN),
        ]
    )
    start = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    cert = _certificate(subject, key, test_ca, start, start + dt.timedelta(days=3650), ca=False)
    folder = tmp_path_factory.mktemp("eid")
    p12 = folder / "eid.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"auth",
            key,
            cert,
            [test_ca.certificate],
            serialization.BestAvailableEncryption(EID_PIN.encode()),
        )
    )
    pin_file = folder / "pin.txt"
    pin_file.write_text(EID_PIN + "\n", encoding="utf-8")
    return EidFiles(p12, pin_file, cert)


@pytest.fixture(scope="session")
def keystore_files(tmp_path_factory: pytest.TempPathFactory, test_ca: Issued) -> KeystoreFiles:
    key = _rsa()
    validity = certificate_validity(ISSUED_AT)
    cert = _certificate(
        person_subject(SSIN, "Alice", "Peeters"),
        key,
        test_ca,
        validity.not_before,
        validity.not_after,
        ca=False,
    )
    folder = tmp_path_factory.mktemp("keystore")
    path = folder / f"SSIN={SSIN} 20260302-093000.acc-p12"
    entry = KeyEntry("authentication", key, cert, (test_ca.certificate,))
    keystore = Keystore((entry,), (test_ca.certificate,))
    write_keystore_file(path, keystore, KEYSTORE_PASSWORD, iterations=MIN_ITERATIONS)
    password_file = folder / "password.txt"
    password_file.write_text(KEYSTORE_PASSWORD + "\n", encoding="utf-8")
    return KeystoreFiles(path, password_file, cert)


@pytest.fixture
def closed_port_url() -> str:
    """The URL of a local port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"

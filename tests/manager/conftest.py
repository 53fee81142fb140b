"""Fixtures for the Certificate Manager tests that need no platform.

Keys are made once per session. Keystores hold eHealth person and institution
certificates from a throw-away CA, valid 36 months from ``ISSUED_AT``, plus an
encryption key, and are written with few PBKDF2 iterations (these tests exercise the
manager, not key derivation). Every test gets fresh copies, since several change them.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ehcert.core.identifiers import Holder
from ehcert.core.names import institution_subject, person_subject
from ehcert.core.policy import certificate_validity
from ehcert.pki.keystore import MIN_ITERATIONS, keystore_filename, write_keystore_file
from ehcert.pki.keystore_entries import KeyEntry, Keystore

SSIN = "79021802145"
ISSUED_AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
PASSWORD = "Old-Password-2026!"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "etee"


@dataclass(frozen=True)
class Issued:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate


def _certificate(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: Issued | None,
    start: dt.datetime,
    end: dt.datetime,
    *,
    ca: bool,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer.key if issuer else key, hashes.SHA256())
    )


@pytest.fixture(scope="session")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(5)]


@pytest.fixture(scope="session")
def test_ca(rsa_keys: list[rsa.RSAPrivateKey]) -> Issued:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "manager tests CA")])
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    key = rsa_keys[0]
    return Issued(
        key, _certificate(name, key, None, start, start + dt.timedelta(days=3650), ca=True)
    )


def make_keystore(
    folder: Path,
    subject: x509.Name,
    holder: str,
    keys: list[rsa.RSAPrivateKey],
    ca: Issued,
    issued_at: dt.datetime = ISSUED_AT,
) -> Path:
    """An eHealth keystore: 'authentication' plus one encryption key (decimal serial alias)."""
    validity = certificate_validity(issued_at)
    auth = _certificate(subject, keys[0], ca, validity.not_before, validity.not_after, ca=False)
    encryption_certificate = _certificate(
        subject, keys[1], Issued(keys[0], auth), validity.not_before, validity.not_after, ca=False
    )
    entries = (
        KeyEntry("authentication", keys[0], auth, (ca.certificate,)),
        KeyEntry(
            str(encryption_certificate.serial_number),
            keys[1],
            encryption_certificate,
            (auth, ca.certificate),
        ),
    )
    path = folder / keystore_filename(holder, issued_at, "acceptance")
    write_keystore_file(
        path, Keystore(entries, (ca.certificate,)), PASSWORD, iterations=MIN_ITERATIONS
    )
    return path


@pytest.fixture(scope="session")
def keystore_template(
    tmp_path_factory: pytest.TempPathFactory, rsa_keys: list[rsa.RSAPrivateKey], test_ca: Issued
) -> Path:
    folder = tmp_path_factory.mktemp("keystores")
    make_keystore(
        folder, person_subject(SSIN, "Alice", "Peeters"), f"SSIN={SSIN}", rsa_keys[1:3], test_ca
    )
    hospital = Holder("NIHII-HOSPITAL", "71000436")
    make_keystore(
        folder,
        institution_subject(hospital, "AZ Sint-Jan Brugge"),
        "NIHII-HOSPITAL=71000436",
        rsa_keys[3:5],
        test_ca,
    )
    return folder


@pytest.fixture
def keystore_dir(tmp_path: Path, keystore_template: Path) -> Path:
    folder = tmp_path / "keystores"
    shutil.copytree(keystore_template, folder)
    return folder


@pytest.fixture
def person_keystore(keystore_dir: Path) -> Path:
    return next(keystore_dir.glob("SSIN=*"))


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password.txt"
    path.write_text(PASSWORD + "\n", encoding="utf-8")
    return path

"""Keys, certificates and keystores for the keystore tests, built once per session.

The layout imitates a real eHealth keystore: a CA, an authentication certificate issued by
the CA, and encryption certificates issued by the authentication key under the same DN
(which is how eHealth encryption certificates are made), all at explicit times.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ehcert.pki.keystore_entries import KeyEntry, Keystore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "etee"
FIXTURE_KEYSTORES = sorted(FIXTURES.glob("*/*.p12"))
MOMENT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def eh_name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Federal Government"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "eHealth-platform Belgium"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def issue(
    subject: x509.Name,
    subject_key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    *,
    serial: int,
    not_before: datetime,
    ca: bool = False,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(subject_key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=3 * 365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class SamplePki:
    ca_key: rsa.RSAPrivateKey
    ca: x509.Certificate
    other_ca: x509.Certificate
    authentication: KeyEntry
    encryption_old: KeyEntry
    encryption_new: KeyEntry


@pytest.fixture(scope="session")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    """Five RSA keys for the whole session (key generation is the slow part)."""
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(5)]


@pytest.fixture(scope="session")
def sample_pki(rsa_keys: list[rsa.RSAPrivateKey]) -> SamplePki:
    ca_key, auth_key, enc_old_key, enc_new_key, other_ca_key = rsa_keys
    ca_name = eh_name("Test eH CA")
    ca = issue(ca_name, ca_key, ca_name, ca_key, serial=1, not_before=MOMENT, ca=True)
    other_name = eh_name("Test Other Root CA")
    other_ca = issue(
        other_name, other_ca_key, other_name, other_ca_key, serial=2, not_before=MOMENT, ca=True
    )
    holder = eh_name("SSIN=79021802145")
    auth_cert = issue(holder, auth_key, ca_name, ca_key, serial=10, not_before=MOMENT)
    # Encryption certificates are signed by the authentication key, under the same DN.
    enc_old = issue(
        holder, enc_old_key, holder, auth_key, serial=1001, not_before=MOMENT - timedelta(days=400)
    )
    enc_new = issue(holder, enc_new_key, holder, auth_key, serial=1002, not_before=MOMENT)
    return SamplePki(
        ca_key=ca_key,
        ca=ca,
        other_ca=other_ca,
        authentication=KeyEntry("authentication", auth_key, auth_cert, (ca,)),
        encryption_old=KeyEntry(str(enc_old.serial_number), enc_old_key, enc_old, (auth_cert, ca)),
        encryption_new=KeyEntry(str(enc_new.serial_number), enc_new_key, enc_new, (auth_cert, ca)),
    )


@pytest.fixture(scope="session")
def impostor_ca(sample_pki: SamplePki, rsa_keys: list[rsa.RSAPrivateKey]) -> x509.Certificate:
    """A self-signed CA with the same DN as ``sample_pki.ca`` but another key."""
    name = sample_pki.ca.subject
    return issue(name, rsa_keys[4], name, rsa_keys[4], serial=3, not_before=MOMENT, ca=True)


@pytest.fixture(scope="session")
def ehealth_keystore(sample_pki: SamplePki) -> Keystore:
    """Authentication + two encryption keys + one CA certificate not in any chain."""
    return Keystore(
        (sample_pki.authentication, sample_pki.encryption_old, sample_pki.encryption_new),
        (sample_pki.other_ca,),
    )


def run_openssl(*arguments: str | Path) -> str:
    """Run the real openssl CLI; its stdout then stderr (``-info`` reports on stderr)."""
    result = subprocess.run(["openssl", *map(str, arguments)], capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout.decode() + "\n" + result.stderr.decode()


@dataclass(frozen=True)
class OpensslKey:
    friendly_name: str | None
    public_spki: bytes


def read_keys_with_openssl(path: Path, password: str, *, legacy: bool) -> list[OpensslKey]:
    """The private keys openssl finds in ``path``, in file order, with their friendlyName."""
    flags = ["-legacy"] if legacy else []
    text = run_openssl(
        "pkcs12", *flags, "-in", path, "-passin", f"pass:{password}", "-nocerts", "-nodes"
    )
    found = []
    for block in text.split("-----END PRIVATE KEY-----")[:-1]:
        name = re.search(r"friendlyName: (.*)", block)
        pem_start = block.index("-----BEGIN PRIVATE KEY-----")
        pem = (block[pem_start:] + "-----END PRIVATE KEY-----\n").encode()
        key = serialization.load_pem_private_key(pem, password=None)
        spki = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        found.append(OpensslKey(name.group(1).strip() if name else None, spki))
    return found


@pytest.fixture(scope="session")
def openssl() -> Callable[..., str]:
    """The openssl CLI, for real."""
    return run_openssl


@pytest.fixture(scope="session")
def openssl_keys() -> Callable[..., list[OpensslKey]]:
    return read_keys_with_openssl


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test asking for ``fixture_keystore`` once per interop .p12 file."""
    if "fixture_keystore" in metafunc.fixturenames:
        metafunc.parametrize(
            "fixture_keystore",
            FIXTURE_KEYSTORES,
            ids=[f"{p.parent.name}/{p.name}" for p in FIXTURE_KEYSTORES],
        )

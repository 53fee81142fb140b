"""Fixtures for the ETEE tests: the interop files, and a small PKI of our own.

Keys are generated once per session: a root CA, two care providers (authentication and
encryption key each) and an ETK depot signer. Every test passes explicit times.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ehcert.core.names import person_subject
from ehcert.pki.keystore import read_keystore_file
from ehcert.pki.keystore_entries import KeyEntry, Keystore
from ehcert.pki.profile_parts import issued_builder, key_usage
from ehcert.pki.profiles import (
    ehealth_authentication_builder,
    ehealth_encryption_builder,
    random_serial,
    root_ca_builder,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "etee"
T_OWN = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
"""The moment our own test PKI is used at (certificates valid 2026-01-01 .. 2029-01-01)."""


def load_certificate(path: Path) -> x509.Certificate:
    """PEM, DER or bare base64 (the fixture CA files use all three)."""
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    try:
        return x509.load_der_x509_certificate(data)
    except ValueError:
        return x509.load_der_x509_certificate(base64.b64decode(data))


@pytest.fixture(scope="session")
def fixture_anchors() -> list[x509.Certificate]:
    return [load_certificate(p) for p in sorted((FIXTURES / "imports").iterdir())]


@pytest.fixture(scope="session")
def fixture_keystores() -> list[Keystore]:
    """Every keystore of the fixtures (password ``test``), old ones included."""
    return [read_keystore_file(p, "test") for p in sorted(FIXTURES.glob("*/*.p12"))]


@pytest.fixture(scope="session")
def alice_keystore() -> Keystore:
    return read_keystore_file(FIXTURES / "alice" / "alices_private_key_store.p12", "test")


@pytest.fixture(scope="session")
def bob_keystore() -> Keystore:
    return read_keystore_file(FIXTURES / "bob" / "bobs_private_key_store.p12", "test")


@dataclass(frozen=True)
class Provider:
    """One care provider of our own PKI: authentication and encryption entries."""

    authentication: KeyEntry
    encryption: KeyEntry

    @property
    def keystore(self) -> Keystore:
        return Keystore((self.authentication, self.encryption))


@dataclass(frozen=True)
class OwnPki:
    root: x509.Certificate
    root_key: rsa.RSAPrivateKey
    alice: Provider
    bob: Provider
    carol: Provider
    depot: KeyEntry


def _provider(
    ssin: str,
    name: str,
    root: x509.Certificate,
    root_key: rsa.RSAPrivateKey,
    keys: list[rsa.RSAPrivateKey],
) -> Provider:
    auth_key, enc_key = keys
    start, end = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2029, 1, 1, tzinfo=dt.UTC)
    subject = person_subject(ssin, name, "Tester")
    auth = ehealth_authentication_builder(
        subject,
        auth_key.public_key(),
        root,
        serial=random_serial(),
        not_before=start,
        not_after=end,
        crl_url="http://crl.test/ca.crl",
        ocsp_url="http://ocsp.test",
        ca_issuers_url="http://ca.test/ca.cer",
        policy_oid="1.3.6.1.4.1.99999.1",
    ).sign(root_key, hashes.SHA256())
    encryption_serial = random_serial()
    encryption = ehealth_encryption_builder(
        subject,
        enc_key.public_key(),
        auth,
        serial=encryption_serial,
        not_before=start,
        not_after=end,
    ).sign(auth_key, hashes.SHA256())
    return Provider(
        KeyEntry("authentication", auth_key, auth, (root,)),
        KeyEntry(str(encryption_serial), enc_key, encryption, (auth, root)),
    )


@pytest.fixture(scope="session")
def own_pki() -> OwnPki:
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(8)]
    root_key = keys.pop()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.COMMON_NAME, "ehcert ETEE test root"),
        ]
    )
    root = root_ca_builder(
        name,
        root_key.public_key(),
        serial=random_serial(),
        not_before=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2035, 1, 1, tzinfo=dt.UTC),
    ).sign(root_key, hashes.SHA256())
    alice = _provider("79021802145", "Alice", root, root_key, keys[0:2])
    bob = _provider("85073003328", "Bob", root, root_key, keys[2:4])
    carol = _provider("90010110021", "Carol", root, root_key, keys[4:6])
    depot_key = keys[6]
    depot_cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ehcert ETK depot (test)")])
        )
        .issuer_name(root.subject)
        .public_key(depot_key.public_key())
        .serial_number(random_serial())
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2029, 1, 1, tzinfo=dt.UTC))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return OwnPki(
        root, root_key, alice, bob, carol, KeyEntry("depot", depot_key, depot_cert, (root,))
    )


@dataclass(frozen=True)
class EcPki:
    """EC care providers under the RSA test root of :class:`OwnPki` (mixed chains):

    * ``dave``: P-384 authentication and encryption keys, as eHealth's second-generation
      certificates; the encryption certificate is signed ecdsa-with-SHA384 by his EC
      authentication key;
    * ``erin``: the same on P-256 (ecdsa-with-SHA256).
    """

    dave: Provider
    erin: Provider


def ec_provider(
    ssin: str,
    name: str,
    root: x509.Certificate,
    root_key: rsa.RSAPrivateKey,
    curve: ec.EllipticCurve,
    hash_algorithm: hashes.HashAlgorithm,
    *,
    encryption_usage: x509.KeyUsage | None = None,
) -> Provider:
    """An EC provider: the eHealth authentication profile's extensions on an EC key, and
    an encryption certificate for key agreement (keyUsage keyAgreement, RFC 5480 3)."""
    auth_key, enc_key = ec.generate_private_key(curve), ec.generate_private_key(curve)
    start, end = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2029, 1, 1, tzinfo=dt.UTC)
    subject = person_subject(ssin, name, "Tester")
    auth = (
        issued_builder(
            subject,
            auth_key.public_key(),
            root,
            serial=random_serial(),
            not_before=start,
            not_after=end,
            ca_path_length=None,
        )
        .add_extension(key_usage(digital_signature=True, content_commitment=True), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    encryption_serial = random_serial()
    encryption = (
        issued_builder(
            subject,
            enc_key.public_key(),
            auth,
            serial=encryption_serial,
            not_before=start,
            not_after=end,
            ca_path_length=None,
        )
        .add_extension(encryption_usage or key_usage(key_agreement=True), critical=True)
        .sign(auth_key, hash_algorithm)
    )
    return Provider(
        KeyEntry("authentication", auth_key, auth, (root,)),
        KeyEntry(str(encryption_serial), enc_key, encryption, (auth, root)),
    )


@pytest.fixture(scope="session")
def ec_pki(own_pki: OwnPki) -> EcPki:
    dave = ec_provider(
        "68050555808", "Dave", own_pki.root, own_pki.root_key, ec.SECP384R1(), hashes.SHA384()
    )
    erin = ec_provider(
        "72020290013", "Erin", own_pki.root, own_pki.root_key, ec.SECP256R1(), hashes.SHA256()
    )
    return EcPki(dave, erin)


def mutated(original: bytes, edits: list[tuple[int, int]], how: str) -> bytes:
    """``original`` with ``edits`` (position, byte) applied as ``how`` says: replace,
    insert, delete, or truncate at the position (the differential reader tests)."""
    damaged = bytearray(original)
    for where, value in edits:
        index = where % len(damaged)
        if how == "replace":
            damaged[index] = value
        elif how == "insert":
            damaged.insert(index, value)
        elif how == "delete" and len(damaged) > 1:
            del damaged[index]
        else:
            del damaged[max(1, index) :]
    return bytes(damaged)

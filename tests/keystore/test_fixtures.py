"""Every interop keystore from tests/fixtures/etee loads, and agrees with openssl.

The files were written by other eHealth implementations with legacy PKCS#12 algorithms
(3DES and RC2-40 with a SHA-1 MAC); openssl -legacy is the independent reader we compare
with: same number of private keys, same aliases in the same order, same public keys.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, padding, rsa

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.keystore import load_keystore
from ehcert.pki.keystore_entries import Keystore

PASSWORD = "test"


def _spki(key: object) -> bytes:
    return key.public_key().public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _verify_issued(child: x509.Certificate, parent: x509.Certificate) -> None:
    """Check the issuer signature, SHA-1 included (these files are SHA-1 signed)."""
    key = parent.public_key()
    assert child.signature_hash_algorithm is not None
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(
            child.signature,
            child.tbs_certificate_bytes,
            padding.PKCS1v15(),
            child.signature_hash_algorithm,
        )
    else:
        assert isinstance(key, dsa.DSAPublicKey)
        key.verify(child.signature, child.tbs_certificate_bytes, child.signature_hash_algorithm)


@functools.cache
def _load(path: Path) -> Keystore:
    """Each file is decrypted once per session; Keystore is immutable, so sharing is safe."""
    return load_keystore(path.read_bytes(), PASSWORD)


def test_same_keys_and_aliases_as_openssl(
    fixture_keystore: Path, openssl_keys: Callable[..., list[Any]]
) -> None:
    keystore = _load(fixture_keystore)
    expected = openssl_keys(fixture_keystore, PASSWORD, legacy=True)
    ours = sorted(
        (entry.alias, _spki(entry.private_key))
        for entry in keystore.entries + keystore.unsupported_entries
    )
    assert len(expected) >= 1
    assert ours == sorted((key.friendly_name, key.public_spki) for key in expected)


def test_every_certificate_openssl_sees_is_kept(
    fixture_keystore: Path, openssl: Callable[..., str]
) -> None:
    keystore = _load(fixture_keystore)
    pem = openssl(
        "pkcs12", "-legacy", "-in", fixture_keystore, "-passin", f"pass:{PASSWORD}", "-nokeys"
    )
    in_file = {
        c.fingerprint(hashes.SHA256()) for c in x509.load_pem_x509_certificates(pem.encode())
    }
    ours = {c.fingerprint(hashes.SHA256()) for c in keystore.ca_certificates}
    for entry in keystore.entries + keystore.unsupported_entries:
        assert entry.certificate is not None
        ours |= {c.fingerprint(hashes.SHA256()) for c in (entry.certificate, *entry.chain)}
    assert ours == in_file


def test_each_private_key_opens_what_its_certificate_seals(fixture_keystore: Path) -> None:
    for entry in _load(fixture_keystore).entries:
        public_key = entry.certificate.public_key()
        assert isinstance(public_key, rsa.RSAPublicKey)
        signature = entry.private_key.sign(b"probe", padding.PKCS1v15(), hashes.SHA256())
        public_key.verify(signature, b"probe", padding.PKCS1v15(), hashes.SHA256())
        sealed = public_key.encrypt(b"secret", padding.PKCS1v15())
        assert entry.private_key.decrypt(sealed, padding.PKCS1v15()) == b"secret"


def test_chains_link_each_certificate_to_its_issuer(fixture_keystore: Path) -> None:
    """Each chain step is named by and signed by the next; the chain stops at a root or
    where the file holds no issuer."""
    keystore = _load(fixture_keystore)
    subjects = {c.subject for c in keystore.ca_certificates}
    for entry in keystore.entries:
        subjects |= {c.subject for c in (entry.certificate, *entry.chain)}
    for entry in keystore.entries:
        path = (entry.certificate, *entry.chain)
        for child, parent in itertools.pairwise(path):
            assert child.issuer == parent.subject
            _verify_issued(child, parent)
        top = path[-1]
        assert top.issuer == top.subject or top.issuer not in subjects


def test_encryption_certificate_chain_goes_through_the_authentication_certificate() -> None:
    """eHealth encryption certificates are issued by the authentication key, same DN."""
    path = Path(__file__).resolve().parents[1] / "fixtures/etee/dirk/dirks_private_key_store.p12"
    keystore = _load(path)
    (encryption,) = keystore.encryption_keys()
    assert encryption.alias == "181715627343265013099014779068509107"
    assert encryption.alias == str(encryption.certificate.serial_number)
    assert encryption.chain[0] == keystore.authentication().certificate
    assert encryption.certificate.subject == encryption.certificate.issuer


@pytest.mark.parametrize(
    ("relative", "alias"),
    [
        ("alice/alices_private_key_store.p12", "Authentication"),
        ("bob/bobs_private_key_store.p12", "authentication"),
        ("other/invalid_encrkey_usage.p12", "Authentication"),
    ],
)
def test_authentication_alias_in_either_spelling(relative: str, alias: str) -> None:
    path = Path(__file__).resolve().parents[1] / "fixtures/etee" / relative
    assert _load(path).authentication().alias == alias


def test_a_dsa_authentication_key_is_kept_but_refused() -> None:
    path = Path(__file__).resolve().parents[1] / "fixtures/etee/other/invalid_key_algorithm.p12"
    keystore = _load(path)
    (unusable,) = keystore.unsupported_entries
    assert unusable.alias == "authentication"
    assert "DSA" in unusable.reason
    with pytest.raises(EhcertError) as caught:
        keystore.authentication()
    assert caught.value.kind is ErrorKind.BAD_KEY
    assert [e.alias for e in keystore.encryption_keys()] == [
        "22331787251934289971248238537233463955"
    ]


def test_a_file_without_authentication_entry() -> None:
    """bob_auth.p12 was exported from Windows: its only key is named by a GUID."""
    path = Path(__file__).resolve().parents[1] / "fixtures/etee/bob/bob_auth.p12"
    keystore = _load(path)
    assert [e.alias for e in keystore.entries] == ["{564D6B50-0D45-4575-9809-0305A46200DA}"]
    with pytest.raises(EhcertError) as caught:
        keystore.authentication()
    assert caught.value.kind is ErrorKind.NOT_FOUND


def test_wrong_password_on_a_legacy_file(fixture_keystore: Path) -> None:
    with pytest.raises(EhcertError) as caught:
        load_keystore(fixture_keystore.read_bytes(), "Test")
    assert caught.value.kind is ErrorKind.UNAUTHORIZED
    assert caught.value.field == "password"

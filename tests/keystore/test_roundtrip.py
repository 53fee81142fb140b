"""Writing keystores: what we write reads back whole, and other readers accept it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12 as cryptography_pkcs12
from hypothesis import given, settings
from hypothesis import strategies as st

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.keystore import DEFAULT_ITERATIONS, dump_keystore, load_keystore
from ehcert.pki.keystore_entries import KeyEntry, Keystore, UnsupportedKeyEntry

FAST = 1_000  # the minimum; the default count is exercised in the openssl test
PASSWORD = "correct horse battery staple"


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _spki(key: object) -> bytes:
    return key.public_key().public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _pkcs8(key: object) -> bytes:
    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _assert_same(expected: Keystore, actual: Keystore) -> None:
    assert [e.alias for e in actual.entries] == [e.alias for e in expected.entries]
    for want, got in zip(expected.entries, actual.entries, strict=True):
        assert _der(got.certificate) == _der(want.certificate)
        assert [_der(c) for c in got.chain] == [_der(c) for c in want.chain]
        assert _pkcs8(got.private_key) == _pkcs8(want.private_key)
    assert [_der(c) for c in actual.ca_certificates] == [_der(c) for c in expected.ca_certificates]
    assert [(u.alias, _pkcs8(u.private_key)) for u in actual.unsupported_entries] == [
        (u.alias, _pkcs8(u.private_key)) for u in expected.unsupported_entries
    ]


def test_round_trip_keeps_entries_aliases_chains_and_ca_certificates(
    ehealth_keystore: Keystore,
) -> None:
    data = dump_keystore(ehealth_keystore, PASSWORD, iterations=FAST)
    _assert_same(ehealth_keystore, load_keystore(data, PASSWORD))


@functools.cache
def _fixture(path: Path) -> Keystore:
    return load_keystore(path.read_bytes(), "test")


def test_every_fixture_survives_rewriting_with_modern_algorithms(fixture_keystore: Path) -> None:
    """Legacy in, PBES2 out, nothing lost: not even the DSA key we cannot use."""
    original = _fixture(fixture_keystore)
    rewritten = load_keystore(dump_keystore(original, "n3w", iterations=FAST), "n3w")
    _assert_same(original, rewritten)


def test_certificates_are_written_once_each(
    ehealth_keystore: Keystore, tmp_path: Path, openssl: Callable[..., str]
) -> None:
    out = tmp_path / "ks.p12"
    out.write_bytes(dump_keystore(ehealth_keystore, PASSWORD, iterations=FAST))
    text = openssl("pkcs12", "-in", out, "-passin", f"pass:{PASSWORD}", "-nokeys")
    fingerprints = [_der(c) for c in x509.load_pem_x509_certificates(text.encode())]
    # authentication, two encryption certificates, the CA (in three chains), the other CA
    assert len(fingerprints) == 5
    assert len(set(fingerprints)) == 5


def test_openssl_3_reads_two_keys_written_with_the_defaults(
    sample_pki: Any,
    tmp_path: Path,
    openssl: Callable[..., str],
    openssl_keys: Callable[..., list[Any]],
) -> None:
    authentication = sample_pki.authentication
    encryption = sample_pki.encryption_new
    out = tmp_path / "two.p12"
    out.write_bytes(dump_keystore(Keystore((authentication, encryption)), PASSWORD))
    info = openssl("pkcs12", "-info", "-in", out, "-passin", f"pass:{PASSWORD}", "-nodes")
    modern = f"PBES2, PBKDF2, AES-256-CBC, Iteration {DEFAULT_ITERATIONS}, PRF hmacWithSHA256"
    assert f"MAC: sha256, Iteration {DEFAULT_ITERATIONS}" in info
    assert info.count(f"Shrouded Keybag: {modern}") == 2
    assert f"PKCS7 Encrypted data: {modern}" in info
    keys = openssl_keys(out, PASSWORD, legacy=False)
    assert [(k.friendly_name, k.public_spki) for k in keys] == [
        ("authentication", _spki(authentication.private_key)),
        (encryption.alias, _spki(encryption.private_key)),
    ]


def test_openssl_agrees_on_the_encoding_of_unicode_passwords(
    ehealth_keystore: Keystore, tmp_path: Path, openssl_keys: Callable[..., list[Any]]
) -> None:
    """UTF-8 for PBKDF2, BMPString (with surrogate pairs) for the MAC, as openssl does."""
    for number, password in enumerate(["Pässwörd-€", "テスト", "key-🔑"]):
        out = tmp_path / f"unicode-{number}.p12"
        out.write_bytes(dump_keystore(ehealth_keystore, password, iterations=FAST))
        assert len(openssl_keys(out, password, legacy=False)) == 3


def test_pyca_cryptography_reads_our_file(ehealth_keystore: Keystore) -> None:
    """A second independent reader (the OpenSSL bundled with cryptography)."""
    data = dump_keystore(ehealth_keystore, PASSWORD, iterations=FAST)
    loaded = cryptography_pkcs12.load_pkcs12(data, PASSWORD.encode())
    assert loaded.key is not None
    assert _spki(loaded.key) in {_spki(e.private_key) for e in ehealth_keystore.entries}
    assert len(loaded.additional_certs) + (loaded.cert is not None) == 5


@settings(max_examples=25, deadline=None)
@given(password=st.text(min_size=1, max_size=24))
def test_any_unicode_password_round_trips(ehealth_keystore: Keystore, password: str) -> None:
    single = Keystore((ehealth_keystore.authentication(),))
    data = dump_keystore(single, password, iterations=FAST)
    assert load_keystore(data, password).authentication().alias == "authentication"
    with pytest.raises(EhcertError) as caught:
        load_keystore(data, password + "x")
    assert caught.value.kind is ErrorKind.UNAUTHORIZED


def test_unencodable_password_is_refused(ehealth_keystore: Keystore) -> None:
    with pytest.raises(ValueError, match="password"):
        dump_keystore(ehealth_keystore, "lone \udc80 surrogate", iterations=FAST)
    data = dump_keystore(ehealth_keystore, PASSWORD, iterations=FAST)
    with pytest.raises(EhcertError) as caught:
        load_keystore(data, "lone \udc80 surrogate")
    assert caught.value.kind is ErrorKind.UNAUTHORIZED


def test_encryption_keys_newest_first(ehealth_keystore: Keystore, sample_pki: Any) -> None:
    newest, oldest = ehealth_keystore.encryption_keys()
    assert newest is sample_pki.encryption_new
    assert oldest is sample_pki.encryption_old


def test_with_entry_replaces_authentication_in_any_case(
    ehealth_keystore: Keystore, sample_pki: Any
) -> None:
    old = sample_pki.authentication
    renamed = KeyEntry("Authentication", old.private_key, old.certificate, old.chain)
    updated = ehealth_keystore.with_entry(renamed)
    assert len(updated.entries) == 3
    assert updated.authentication() is renamed
    assert ehealth_keystore.authentication() is old  # the original is unchanged


def test_with_entry_adds_a_new_encryption_key(
    sample_pki: Any, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    start = Keystore((sample_pki.authentication,))
    encryption = sample_pki.encryption_old
    grown = start.with_entry(encryption)
    assert [e.alias for e in grown.entries] == ["authentication", encryption.alias]


def test_with_entry_replaces_an_unusable_authentication_entry(sample_pki: Any) -> None:
    path = Path(__file__).resolve().parents[1] / "fixtures/etee/other/invalid_key_algorithm.p12"
    repaired = _fixture(path).with_entry(sample_pki.authentication)
    assert repaired.unsupported_entries == ()
    assert repaired.authentication() is sample_pki.authentication


def test_chain_prefers_the_issuer_whose_signature_verifies(
    sample_pki: Any, impostor_ca: x509.Certificate
) -> None:
    """Chains are rebuilt from the file; a same-DN impostor met first is passed over."""
    authentication = sample_pki.authentication
    encryption = sample_pki.encryption_old
    ca = sample_pki.ca
    # Listing the impostor in the first chain puts it before the real CA in the file.
    misleading = KeyEntry(
        encryption.alias,
        encryption.private_key,
        encryption.certificate,
        (authentication.certificate, impostor_ca),
    )
    data = dump_keystore(Keystore((misleading, authentication)), PASSWORD, iterations=FAST)
    loaded = load_keystore(data, PASSWORD)
    assert [_der(c) for c in loaded.entries[0].chain] == [
        _der(authentication.certificate),
        _der(ca),
    ]
    assert [_der(c) for c in loaded.ca_certificates] == [_der(impostor_ca)]


def test_a_chain_with_a_bad_signature_stays_visible(
    sample_pki: Any, impostor_ca: x509.Certificate
) -> None:
    """With only a same-DN impostor in the file, the name match is kept for path
    validation to reject, rather than the chain silently ending early."""
    authentication = sample_pki.authentication
    broken = KeyEntry(
        "authentication", authentication.private_key, authentication.certificate, (impostor_ca,)
    )
    loaded = load_keystore(dump_keystore(Keystore((broken,)), PASSWORD, iterations=FAST), PASSWORD)
    assert [_der(c) for c in loaded.authentication().chain] == [_der(impostor_ca)]


def test_a_key_without_certificate_is_kept(rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    orphan = UnsupportedKeyEntry("orphan", rsa_keys[4], None)
    loaded = load_keystore(
        dump_keystore(Keystore((), (), (orphan,)), PASSWORD, iterations=FAST), PASSWORD
    )
    (kept,) = loaded.unsupported_entries
    assert (kept.alias, kept.certificate) == ("orphan", None)
    assert _pkcs8(kept.private_key) == _pkcs8(rsa_keys[4])
    assert "no certificate" in kept.reason

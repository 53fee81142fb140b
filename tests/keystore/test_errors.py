"""Bad input gives one clear EhcertError (or TypeError/ValueError at the API), never a
traceback from deep inside a parser."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.keystore import MAX_KEYSTORE_BYTES, dump_keystore, load_keystore
from ehcert.pki.keystore_entries import KeyEntry, Keystore, UnsupportedKeyEntry
from ehcert.pki.pkcs12_pfx import PlainBag, seal_pfx

PASSWORD = "test"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/etee/alice/alice_enc.p12"


def _kind_of(data: bytes, password: str = PASSWORD) -> ErrorKind:
    with pytest.raises(EhcertError) as caught:
        load_keystore(data, password)
    return caught.value.kind


@pytest.fixture(scope="module")
def unprotected_legacy_file(
    sample_pki: Any, tmp_path_factory: pytest.TempPathFactory, openssl: Callable[..., str]
) -> bytes:
    """3DES/RC2-40 without MAC, from openssl: only decryption can notice a wrong password."""
    folder = tmp_path_factory.mktemp("nomac")
    entry = sample_pki.authentication
    key = folder / "key.pem"
    key.write_bytes(
        entry.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert = folder / "cert.pem"
    cert.write_bytes(entry.certificate.public_bytes(serialization.Encoding.PEM))
    out = folder / "nomac.p12"
    openssl(
        "pkcs12", "-export", "-legacy", "-nomac", "-inkey", key, "-in", cert,
        "-passout", f"pass:{PASSWORD}", "-out", out,
    )  # fmt: skip
    return out.read_bytes()


@pytest.mark.parametrize(
    "data",
    [b"", b"not a keystore", b"\x30\x03\x02\x01\x03", b"\x30\x80" + b"\x00" * 10],
    ids=["empty", "text", "bare-version", "indefinite-garbage"],
)
def test_not_pkcs12_is_malformed(data: bytes) -> None:
    with pytest.raises(EhcertError) as caught:
        load_keystore(data, PASSWORD)
    assert caught.value.kind is ErrorKind.MALFORMED
    assert caught.value.field == "keystore"
    assert caught.value.detail.startswith("The keystore cannot be read: ")


def test_a_certificate_is_not_a_keystore(sample_pki: Any) -> None:
    der = sample_pki.ca.public_bytes(serialization.Encoding.DER)
    assert _kind_of(der) is ErrorKind.MALFORMED


def test_a_truncated_keystore_is_malformed() -> None:
    data = FIXTURE.read_bytes()
    assert _kind_of(data[: len(data) // 2]) is ErrorKind.MALFORMED


def test_wrong_password_names_the_field() -> None:
    with pytest.raises(EhcertError) as caught:
        load_keystore(FIXTURE.read_bytes(), "tset")
    assert caught.value.kind is ErrorKind.UNAUTHORIZED
    assert caught.value.field == "password"
    assert caught.value.detail == "The keystore password is wrong."


def test_wrong_password_without_mac_is_still_unauthorized(unprotected_legacy_file: bytes) -> None:
    assert len(load_keystore(unprotected_legacy_file, PASSWORD).entries) == 1
    for attempt in range(20):  # padding passes by chance 1 time in 256: try many
        assert _kind_of(unprotected_legacy_file, f"wrong-{attempt}") is ErrorKind.UNAUTHORIZED


def test_an_oversized_input_is_refused_before_parsing() -> None:
    assert _kind_of(b"\x00" * (MAX_KEYSTORE_BYTES + 1)) is ErrorKind.PAYLOAD_TOO_LARGE


def test_two_keys_with_one_alias_are_malformed(sample_pki: Any) -> None:
    keys = [sample_pki.encryption_old.private_key, sample_pki.encryption_new.private_key]
    bags = [
        PlainBag(
            "key",
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            "Authentication" if index else "authentication",
        )
        for index, key in enumerate(keys)
    ]
    data = seal_pfx(bags, PASSWORD, iterations=1_000)
    with pytest.raises(EhcertError) as caught:
        load_keystore(data, PASSWORD)
    assert caught.value.kind is ErrorKind.MALFORMED
    assert "two key entries are named 'Authentication'" in caught.value.detail


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300))
def test_random_bytes_never_escape_as_other_exceptions(data: bytes) -> None:
    assert _kind_of(data) in {ErrorKind.MALFORMED, ErrorKind.UNAUTHORIZED}


def _outcome(data: bytes) -> ErrorKind | None:
    try:
        load_keystore(data, PASSWORD)
    except EhcertError as error:
        return error.kind
    return None


# A damaged certificate may carry a zero serial, which cryptography loads with a warning.
@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.floats(0, 1, exclude_max=True), value=st.integers(0, 255))
def test_damaged_files_fail_cleanly(
    unprotected_legacy_file: bytes, position: float, value: int
) -> None:
    """Damage anywhere, in a file with a MAC and in one without: load, or one EhcertError."""
    for original in (FIXTURE.read_bytes(), unprotected_legacy_file):
        damaged = bytearray(original)
        damaged[int(position * len(damaged))] = value
        assert _outcome(bytes(damaged)) in {None, ErrorKind.MALFORMED, ErrorKind.UNAUTHORIZED}


def test_argument_types_are_checked(ehealth_keystore: Keystore) -> None:
    with pytest.raises(TypeError):
        load_keystore("text", PASSWORD)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        load_keystore(bytearray(b"x"), PASSWORD)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        load_keystore(b"x", b"test")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        dump_keystore(ehealth_keystore.entries, PASSWORD)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        dump_keystore(ehealth_keystore, PASSWORD, iterations=True)
    with pytest.raises(ValueError, match="iterations"):
        dump_keystore(ehealth_keystore, PASSWORD, iterations=999)
    with pytest.raises(ValueError, match="password"):
        dump_keystore(ehealth_keystore, "")


def test_key_entries_are_validated(sample_pki: Any) -> None:
    auth = sample_pki.authentication
    other = sample_pki.encryption_new
    with pytest.raises(ValueError, match="does not belong"):
        KeyEntry("authentication", other.private_key, auth.certificate)
    with pytest.raises(ValueError, match="alias"):
        KeyEntry("", auth.private_key, auth.certificate)
    with pytest.raises(TypeError):
        KeyEntry("a", auth.private_key, auth.certificate, [sample_pki.ca])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        KeyEntry("a", auth.private_key, auth.certificate.public_bytes(serialization.Encoding.DER))
    with pytest.raises(TypeError):
        KeyEntry(1, auth.private_key, auth.certificate)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        UnsupportedKeyEntry("a", b"key", None)  # type: ignore[arg-type]


def test_keystores_are_validated(sample_pki: Any) -> None:
    auth = sample_pki.authentication
    shouting = KeyEntry("AUTHENTICATION", auth.private_key, auth.certificate)
    with pytest.raises(ValueError, match="unique"):
        Keystore((auth, shouting))
    with pytest.raises(TypeError):
        Keystore([auth])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Keystore((auth,), [sample_pki.ca])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Keystore((auth,)).with_entry("authentication")  # type: ignore[arg-type]


def test_an_empty_keystore_has_no_authentication_entry() -> None:
    loaded = load_keystore(dump_keystore(Keystore(()), PASSWORD, iterations=1_000), PASSWORD)
    assert loaded == Keystore(())
    with pytest.raises(EhcertError) as caught:
        loaded.authentication()
    assert caught.value.kind is ErrorKind.NOT_FOUND
    assert loaded.encryption_keys() == ()


def test_random_keystore_bytes_are_not_reused() -> None:
    """Salts and IVs are fresh: two dumps of the same keystore differ."""
    empty = Keystore(())
    assert dump_keystore(empty, PASSWORD, iterations=1_000) != dump_keystore(
        empty, PASSWORD, iterations=1_000
    )

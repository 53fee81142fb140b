"""Legacy-compatible writing: files older Java readers accept, and that other readers agree on.

``legacy_compatible=True`` must produce pbeWithSHAAnd3-KeyTripleDES-CBC key bags and
certificate SafeContents with an HMAC-SHA1 MAC (openssl's ``-info`` names the algorithms,
so the test cannot pass on a modern file), and the file must open in openssl, in
``cryptography``, in this package's reader and in Java's keytool. keytool is a real
dependency here: where it is installed the check runs and must pass; it is skipped only
on a machine without it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms, pkcs12
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12 as cryptography_pkcs12

from ehcert.pki.keystore import (
    LEGACY_DEFAULT_ITERATIONS,
    LEGACY_MAX_ITERATIONS,
    LEGACY_MIN_ITERATIONS,
    change_keystore_password,
    dump_keystore,
    load_keystore,
    read_keystore_file,
    write_keystore_file,
)
from ehcert.pki.keystore_entries import Keystore

PASSWORD = "Legacy-Reader-2026"  # ASCII: keytool refuses non-ASCII passwords for any file
FAST = LEGACY_MIN_ITERATIONS
LEGACY_PBE = "pbeWithSHA1And3-KeyTripleDES-CBC"


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


def _info(openssl: Callable[..., str], path: Path, password: str, *, legacy: bool) -> str:
    flags = ["-legacy"] if legacy else []
    return openssl("pkcs12", *flags, "-info", "-in", path, "-passin", f"pass:{password}", "-noout")


def _assert_legacy_info(info: str, iterations: int, keys: int) -> None:
    """What openssl reports about the protection: 3DES everywhere, SHA-1 MAC, no PBES2."""
    assert f"MAC: sha1, Iteration {iterations}" in info
    assert info.count(f"Shrouded Keybag: {LEGACY_PBE}, Iteration {iterations}") == keys
    assert f"PKCS7 Encrypted data: {LEGACY_PBE}, Iteration {iterations}" in info
    assert "PBES2" not in info and "RC2" not in info


@pytest.fixture(scope="module")
def two_keys(sample_pki: Any) -> Keystore:
    return Keystore((sample_pki.authentication, sample_pki.encryption_new))


@pytest.fixture(scope="module")
def legacy_file(two_keys: Keystore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two key entries written in legacy mode with the default count, as users get it."""
    path = tmp_path_factory.mktemp("legacy") / "two-keys.p12"
    path.write_bytes(dump_keystore(two_keys, PASSWORD, legacy_compatible=True))
    return path


def test_openssl_reads_both_keys_and_names_the_legacy_algorithms(
    legacy_file: Path,
    two_keys: Keystore,
    openssl: Callable[..., str],
    openssl_keys: Callable[..., list[Any]],
) -> None:
    _assert_legacy_info(
        _info(openssl, legacy_file, PASSWORD, legacy=True), LEGACY_DEFAULT_ITERATIONS, keys=2
    )
    found = openssl_keys(legacy_file, PASSWORD, legacy=True)
    assert [(k.friendly_name, k.public_spki) for k in found] == [
        (entry.alias, _spki(entry.private_key)) for entry in two_keys.entries
    ]


def test_openssl_3_default_provider_reads_it_too(
    legacy_file: Path,
    two_keys: Keystore,
    openssl: Callable[..., str],
    openssl_keys: Callable[..., list[Any]],
) -> None:
    """3DES and the SHA-1 MAC are in openssl 3's default provider (RC2-40 is not, which is
    one more reason not to use it): current openssl needs no ``-legacy`` for our files."""
    _assert_legacy_info(
        _info(openssl, legacy_file, PASSWORD, legacy=False), LEGACY_DEFAULT_ITERATIONS, keys=2
    )
    assert len(openssl_keys(legacy_file, PASSWORD, legacy=False)) == 2


def test_our_reader_gets_everything_back(legacy_file: Path, two_keys: Keystore) -> None:
    loaded = read_keystore_file(legacy_file, PASSWORD)
    assert [e.alias for e in loaded.entries] == [e.alias for e in two_keys.entries]
    for want, got in zip(two_keys.entries, loaded.entries, strict=True):
        assert _pkcs8(got.private_key) == _pkcs8(want.private_key)
        assert got.certificate == want.certificate
        assert got.chain == want.chain


def test_cryptography_load_pkcs12_reads_one_key(legacy_file: Path, two_keys: Keystore) -> None:
    """``load_pkcs12`` returns a single key: the first, with its certificate."""
    loaded = cryptography_pkcs12.load_pkcs12(legacy_file.read_bytes(), PASSWORD.encode())
    authentication = two_keys.entries[0]
    assert loaded.key is not None
    assert _spki(loaded.key) == _spki(authentication.private_key)
    assert loaded.cert is not None
    assert loaded.cert.certificate == authentication.certificate
    assert loaded.cert.friendly_name == b"authentication"


def test_keytool_lists_both_aliases(legacy_file: Path, two_keys: Keystore) -> None:
    keytool = shutil.which("keytool")
    if keytool is None:
        pytest.skip("keytool (Java) is not installed on this machine")
    command = [keytool, "-list", "-storetype", "PKCS12", "-keystore", str(legacy_file)]
    result = subprocess.run(
        [*command, "-storepass", PASSWORD],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Your keystore contains 2 entries" in result.stdout
    listed = {
        line.split(",")[0] for line in result.stdout.splitlines() if "PrivateKeyEntry" in line
    }
    assert listed == {entry.alias for entry in two_keys.entries}


def _encryption_salts(data: bytes) -> list[bytes]:
    """The PBE salt of every encrypted part: each key bag and the certificate SafeContents."""
    pfx = pkcs12.Pfx.load(data)
    salts = []
    for content_info in pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native):
        if content_info["content_type"].native == "encrypted_data":
            encrypted = content_info["content"]
            assert isinstance(encrypted, cms.EncryptedData)
            algorithm = encrypted["encrypted_content_info"]["content_encryption_algorithm"]
            salts.append(algorithm["parameters"]["salt"].native)
        else:
            for bag in pkcs12.SafeContents.load(content_info["content"].native):
                algorithm = bag["bag_value"]["encryption_algorithm"]
                assert algorithm["algorithm"].native == "pkcs12_sha1_tripledes_3key"
                salts.append(algorithm["parameters"]["salt"].native)
    return salts


def test_every_encrypted_part_has_its_own_salt(ehealth_keystore: Keystore) -> None:
    """The legacy IV comes from the salt: a shared salt would repeat key and IV."""
    salts = _encryption_salts(
        dump_keystore(ehealth_keystore, PASSWORD, iterations=FAST, legacy_compatible=True)
    )
    assert len(salts) == 4  # three key bags and the certificates
    assert len(set(salts)) == 4


def test_openssl_agrees_on_bmpstring_passwords(
    two_keys: Keystore, tmp_path: Path, openssl_keys: Callable[..., list[Any]]
) -> None:
    """Legacy PBE and MAC both take the password as a BMPString, surrogate pairs included."""
    for number, password in enumerate(["Pässwörd-€", "key-🔑"]):
        out = tmp_path / f"unicode-{number}.p12"
        out.write_bytes(dump_keystore(two_keys, password, iterations=FAST, legacy_compatible=True))
        assert len(openssl_keys(out, password, legacy=True)) == 2
        assert len(load_keystore(out.read_bytes(), password).entries) == 2


def test_iteration_bounds_and_argument_types(two_keys: Keystore) -> None:
    for refused in (LEGACY_MIN_ITERATIONS - 1, LEGACY_MAX_ITERATIONS + 1):
        with pytest.raises(ValueError, match="iterations must be between 2048 and 5000000"):
            dump_keystore(two_keys, PASSWORD, iterations=refused, legacy_compatible=True)
    with pytest.raises(TypeError, match="legacy_compatible"):
        dump_keystore(two_keys, PASSWORD, legacy_compatible="yes")  # type: ignore[arg-type]
    # The modern floor stays where it was.
    assert dump_keystore(two_keys, PASSWORD, iterations=1_000)


def test_change_password_writes_legacy_on_request_and_modern_otherwise(
    ehealth_keystore: Keystore, tmp_path: Path, openssl: Callable[..., str]
) -> None:
    target = tmp_path / "keystore.p12"
    write_keystore_file(target, ehealth_keystore, "first", iterations=FAST, legacy_compatible=True)
    _assert_legacy_info(_info(openssl, target, "first", legacy=False), FAST, keys=3)

    change_keystore_password(target, "first", "second", iterations=FAST, legacy_compatible=True)
    _assert_legacy_info(_info(openssl, target, "second", legacy=False), FAST, keys=3)
    assert len(read_keystore_file(target, "second").entries) == 3

    change_keystore_password(target, "second", "third", iterations=1_000)
    info = _info(openssl, target, "third", legacy=False)
    assert "MAC: sha256" in info and LEGACY_PBE not in info
    assert len(read_keystore_file(target, "third").entries) == 3


def test_bad_arguments_leave_the_file_alone(ehealth_keystore: Keystore, tmp_path: Path) -> None:
    target = tmp_path / "keystore.p12"
    write_keystore_file(target, ehealth_keystore, "first", iterations=1_000)
    before = target.read_bytes()
    with pytest.raises(ValueError, match="iterations"):
        change_keystore_password(
            target, "first", "second", iterations=1_000, legacy_compatible=True
        )
    assert target.read_bytes() == before

"""CA keys at rest: encrypted PKCS#8 that openssl reads, 0600, atomic, clear refusals."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki import keyfile

FAST = keyfile.MINIMUM_PBKDF2_ITERATIONS


def test_round_trip_with_default_strength(tmp_path: Path, file_signers) -> None:
    path = tmp_path / "root.key"
    original = file_signers.end_entity_key
    keyfile.save_encrypted_key(path, original, b"correct horse")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    loaded = keyfile.load_encrypted_key(path, b"correct horse")
    assert loaded.private_numbers() == original.private_numbers()
    listed = subprocess.run(
        ["openssl", "asn1parse", "-in", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "PBES2" in listed
    assert "hmacWithSHA256" in listed
    assert "aes-256-cbc" in listed
    assert ":0927C0" in listed  # 600 000 PBKDF2 iterations
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_openssl_opens_the_file(tmp_path: Path, file_signers) -> None:
    path = tmp_path / "k.pem"
    key = file_signers.end_entity_key
    keyfile.save_encrypted_key(path, key, b"s3cret", iterations=FAST)
    result = subprocess.run(
        ["openssl", "pkey", "-in", str(path), "-passin", "pass:s3cret", "-pubout"],
        capture_output=True,
        check=True,
    )
    expected = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert result.stdout == expected


def test_overwrite_replaces_atomically(tmp_path: Path, file_signers) -> None:
    path = tmp_path / "k.pem"
    path.write_bytes(b"old")
    path.chmod(0o644)
    keyfile.save_encrypted_key(path, file_signers.end_entity_key, b"pw", iterations=FAST)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keyfile.load_encrypted_key(path, b"pw").key_size == 2048


def test_wrong_passphrase_is_unauthorized(tmp_path: Path, file_signers) -> None:
    path = tmp_path / "k.pem"
    keyfile.save_encrypted_key(path, file_signers.end_entity_key, b"right", iterations=FAST)
    with pytest.raises(EhcertError) as caught:
        keyfile.load_encrypted_key(path, b"wrong")
    assert caught.value.kind is ErrorKind.UNAUTHORIZED
    assert caught.value.field == "passphrase"
    assert "passphrase" in caught.value.detail


def test_unencrypted_key_is_refused(tmp_path: Path, file_signers) -> None:
    path = tmp_path / "plain.der"
    path.write_bytes(
        file_signers.end_entity_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(EhcertError) as caught:
        keyfile.load_encrypted_key(path, b"pw")
    assert caught.value.kind is ErrorKind.MALFORMED
    assert "not encrypted" in caught.value.detail


def test_other_pem_and_missing_files(tmp_path: Path) -> None:
    cert_like = tmp_path / "c.pem"
    cert_like.write_bytes(b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n")
    with pytest.raises(EhcertError) as caught:
        keyfile.load_encrypted_key(cert_like, b"pw")
    assert caught.value.kind is ErrorKind.MALFORMED
    with pytest.raises(EhcertError) as missing:
        keyfile.load_encrypted_key(tmp_path / "absent.pem", b"pw")
    assert missing.value.kind is ErrorKind.NOT_FOUND


def test_argument_checks(tmp_path: Path, file_signers) -> None:
    key = file_signers.end_entity_key
    with pytest.raises(TypeError):
        keyfile.save_encrypted_key(tmp_path / "k", key, "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        keyfile.save_encrypted_key(tmp_path / "k", key, b"")
    with pytest.raises(ValueError, match="iterations"):
        keyfile.save_encrypted_key(tmp_path / "k", key, b"pw", iterations=1000)
    with pytest.raises(TypeError):
        keyfile.save_encrypted_key(tmp_path / "k", object(), b"pw")  # type: ignore[arg-type]
    with pytest.raises(EhcertError) as caught:
        keyfile.save_encrypted_key(tmp_path / "no" / "k", key, b"pw", iterations=FAST)
    assert caught.value.kind is ErrorKind.NOT_FOUND

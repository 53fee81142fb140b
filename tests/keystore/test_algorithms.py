"""Reading every PKCS#12 protection scheme we claim, from files real openssl writes.

openssl 3 is the independent writer: for each algorithm combination it produces a file
(or a PKCS#8 EncryptedPrivateKeyInfo, to reach PBKDF2 PRFs its pkcs12 command does not
offer), and our reader must recover the exact key, certificate and chain.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import algos, core, keys, pkcs12
from cryptography.hazmat.decrepit.ciphers.algorithms import RC2
from cryptography.hazmat.primitives import hashes, hmac, padding, serialization
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import pkcs12 as cryptography_pkcs12

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki import pkcs12_pbe
from ehcert.pki.keystore import dump_keystore, load_keystore
from ehcert.pki.keystore_entries import Keystore

PASSWORD = "Openssl-Wrote-This"


def _pkcs8(key: Any) -> bytes:
    return key.private_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="module")
def pem_files(sample_pki: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pem")
    entry = sample_pki.authentication
    (folder / "key.pem").write_bytes(
        entry.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "cert.pem").write_bytes(entry.certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "ca.pem").write_bytes(sample_pki.ca.public_bytes(serialization.Encoding.PEM))
    return folder


OPENSSL_SCHEMES = {
    "pbes2-aes128-aes192-sha1-mac": [
        "-keypbe",
        "AES-128-CBC",
        "-certpbe",
        "AES-192-CBC",
        "-macalg",
        "sha1",
    ],
    "pbes2-aes256-sha512-mac": [
        "-keypbe",
        "AES-256-CBC",
        "-certpbe",
        "AES-256-CBC",
        "-macalg",
        "sha512",
    ],
    "pbes2-3des-sha384-mac": [
        "-keypbe",
        "DES-EDE3-CBC",
        "-certpbe",
        "DES-EDE3-CBC",
        "-macalg",
        "sha384",
    ],
    "pbes2-sha224-mac": ["-macalg", "sha224"],
    "legacy-3des-rc2-40": ["-legacy"],
    "legacy-rc2-128-2des": ["-legacy", "-keypbe", "PBE-SHA1-RC2-128", "-certpbe", "PBE-SHA1-2DES"],
    "legacy-rc4-128-rc4-40": [
        "-legacy",
        "-keypbe",
        "PBE-SHA1-RC4-128",
        "-certpbe",
        "PBE-SHA1-RC4-40",
    ],
    "unencrypted-with-mac": ["-keypbe", "NONE", "-certpbe", "NONE"],
    "aes-without-mac": ["-nomac"],
    "legacy-without-mac": ["-legacy", "-nomac"],
}


@pytest.mark.parametrize("arguments", OPENSSL_SCHEMES.values(), ids=OPENSSL_SCHEMES.keys())
def test_reads_what_openssl_writes(
    arguments: list[str],
    pem_files: Path,
    sample_pki: Any,
    tmp_path: Path,
    openssl: Callable[..., str],
) -> None:
    out = tmp_path / "openssl.p12"
    openssl(
        "pkcs12", "-export", "-inkey", pem_files / "key.pem", "-in", pem_files / "cert.pem",
        "-certfile", pem_files / "ca.pem", "-name", "authentication", "-iter", "2048",
        "-passout", f"pass:{PASSWORD}", "-out", out, *arguments,
    )  # fmt: skip
    data = out.read_bytes()
    entry = load_keystore(data, PASSWORD).authentication()
    assert _pkcs8(entry.private_key) == _pkcs8(sample_pki.authentication.private_key)
    assert entry.certificate == sample_pki.authentication.certificate
    assert entry.chain == (sample_pki.ca,)
    with pytest.raises(EhcertError) as caught:
        load_keystore(data, PASSWORD.lower())
    assert caught.value.kind is ErrorKind.UNAUTHORIZED
    assert caught.value.field == "password"


def test_an_unsupported_cipher_is_a_clear_malformed_error(
    pem_files: Path, tmp_path: Path, openssl: Callable[..., str]
) -> None:
    """PKCS#5 v1.5 pbeWithMD5AndDES-CBC (56-bit DES) is deliberately not read."""
    out = tmp_path / "md5-des.p12"
    openssl(
        "pkcs12", "-export", "-legacy", "-inkey", pem_files / "key.pem", "-in",
        pem_files / "cert.pem", "-keypbe", "PBE-MD5-DES", "-passout", f"pass:{PASSWORD}",
        "-out", out,
    )  # fmt: skip
    with pytest.raises(EhcertError) as caught:
        load_keystore(out.read_bytes(), PASSWORD)
    assert caught.value.kind is ErrorKind.MALFORMED
    assert "1.2.840.113549.1.5.3 is not supported" in caught.value.detail


PKCS8_SCHEMES = {
    "pbkdf2-sha1-aes128": ["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"],
    "pbkdf2-sha512-aes192": ["-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA512"],
    "pbkdf2-sha256-3des": ["-v2", "des3", "-v2prf", "hmacWithSHA256"],
    "pbkdf2-sha384-aes256": ["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA384"],
    "pkcs12-sha1-rc2-40": ["-v1", "PBE-SHA1-RC2-40", "-provider", "legacy", "-provider", "default"],
    "pkcs12-sha1-3des": ["-v1", "PBE-SHA1-3DES"],
}


@pytest.mark.parametrize("arguments", PKCS8_SCHEMES.values(), ids=PKCS8_SCHEMES.keys())
def test_decrypts_openssl_pkcs8_keys(
    arguments: list[str],
    pem_files: Path,
    sample_pki: Any,
    tmp_path: Path,
    openssl: Callable[..., str],
) -> None:
    out = tmp_path / "key.der"
    openssl(
        "pkcs8", "-topk8", "-in", pem_files / "key.pem", "-outform", "DER", "-out", out,
        "-iter", "2048", "-passout", f"pass:{PASSWORD}", *arguments,
    )  # fmt: skip
    encrypted = keys.EncryptedPrivateKeyInfo.load(out.read_bytes())
    plain = pkcs12_pbe.PasswordCipher(PASSWORD).decrypt(
        encrypted["encryption_algorithm"], encrypted["encrypted_data"].native
    )
    assert plain == _pkcs8(sample_pki.authentication.private_key)


# RFC 2268 section 5: (key, effective key bits, plaintext, ciphertext).
RC2_VECTORS = [
    ("0000000000000000", 63, "0000000000000000", "ebb773f993278eff"),
    ("ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"),
    ("3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"),
    ("88", 64, "0000000000000000", "61a8a244adacccf0"),
    ("88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"),
    ("88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"),
    ("88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"),
    (
        "88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e",
        129,
        "0000000000000000",
        "5b78d3a43dfff1f1",
    ),
]


@pytest.mark.parametrize(("key", "bits", "plaintext", "ciphertext"), RC2_VECTORS)
def test_rc2_matches_rfc_2268_vectors(key: str, bits: int, plaintext: str, ciphertext: str) -> None:
    subkeys = pkcs12_pbe._rc2_expand_key(bytes.fromhex(key), bits)
    assert pkcs12_pbe._rc2_decrypt_block(subkeys, bytes.fromhex(ciphertext)).hex() == plaintext


def test_rc2_cbc_agrees_with_cryptography_for_128_bit_keys() -> None:
    key, iv, message = os.urandom(16), os.urandom(8), os.urandom(100)
    padder = padding.PKCS7(64).padder()
    encryptor = Cipher(RC2(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(message) + padder.finalize()) + encryptor.finalize()
    assert pkcs12_pbe.rc2_cbc_decrypt(key, 128, iv, ciphertext) == message


def _with_pbmac1(data: bytes, password: str) -> bytes:
    """Replace the MAC of ``data`` by an RFC 9579 PBMAC1 (PBKDF2-SHA256, HMAC-SHA256)."""
    pfx = pkcs12.Pfx.load(data)
    content = pfx["auth_safe"]["content"].native
    salt = os.urandom(16)
    key = PBKDF2HMAC(hashes.SHA256(), 32, salt, 2048).derive(password.encode())
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(content)
    parameters = algos.Pbmac1Params(
        {
            "key_derivation_func": {
                "algorithm": "pbkdf2",
                "parameters": {
                    "salt": core.OctetString(salt),
                    "iteration_count": 2048,
                    "key_length": 32,
                    "prf": {"algorithm": "sha256", "parameters": core.Null()},
                },
            },
            "message_auth_scheme": {"algorithm": "sha256", "parameters": core.Null()},
        }
    )
    mac_data = pkcs12.MacData(
        {
            "mac": {
                "digest_algorithm": {
                    "algorithm": "1.2.840.113549.1.5.14",
                    "parameters": parameters,
                },
                "digest": mac.finalize(),
            },
            "mac_salt": b"NOT USED",
            "iterations": 1,
        }
    )
    rebuilt = pkcs12.Pfx({"version": "v3", "auth_safe": pfx["auth_safe"], "mac_data": mac_data})
    return bytes(rebuilt.dump())


def test_reads_an_rfc_9579_pbmac1_file(ehealth_keystore: Keystore) -> None:
    """The file is checked by cryptography's bundled OpenSSL first, so the test's own
    PBMAC1 construction is independently confirmed before our reader sees it."""
    data = _with_pbmac1(dump_keystore(ehealth_keystore, PASSWORD, iterations=1_000), PASSWORD)
    assert cryptography_pkcs12.load_pkcs12(data, PASSWORD.encode()).key is not None
    assert len(load_keystore(data, PASSWORD).entries) == 3
    with pytest.raises(EhcertError) as caught:
        load_keystore(data, "not the password")
    assert caught.value.kind is ErrorKind.UNAUTHORIZED

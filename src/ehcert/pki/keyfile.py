"""CA private keys at rest: encrypted PKCS#8 files that only a passphrase opens.

When a CA, OCSP or ETK-depot key is not in an HSM it lives in a file, and that file is
always an ``EncryptedPrivateKeyInfo`` (RFC 5958 section 3) protected with PBES2
(RFC 8018 section 6.2): PBKDF2 with HMAC-SHA-256 and AES-256-CBC. ``cryptography``'s
``BestAvailableEncryption`` produces the same scheme but with only 2048 PBKDF2 rounds,
far below current guidance for password-derived keys (OWASP: 600 000 for
PBKDF2-HMAC-SHA256), and its configurable encryption builder does not support PKCS#8.
So the structure is assembled here with ``asn1crypto`` and read back with
``cryptography`` (OpenSSL), which proves the file is standard: ``openssl pkey`` opens it too.

Files are written atomically (temporary file in the same directory, fsync, rename) with
mode 0600, so a crash never leaves half a key and no other user can read even the
encrypted form.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from asn1crypto import algos as asn1_algos
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.files import write_private_file
from ehcert.pki.public_keys import PrivateKey, check_public_key

DEFAULT_PBKDF2_ITERATIONS = 600_000
MINIMUM_PBKDF2_ITERATIONS = 100_000
_PEM_LABEL = "ENCRYPTED PRIVATE KEY"


def _check_passphrase(passphrase: bytes) -> None:
    if not isinstance(passphrase, bytes):
        raise TypeError("passphrase must be bytes")
    if not passphrase:
        raise ValueError("passphrase must not be empty")


def encrypt_private_key_pem(
    key: PrivateKey, passphrase: bytes, *, iterations: int = DEFAULT_PBKDF2_ITERATIONS
) -> bytes:
    """PEM of ``key`` (RSA or EC) as PKCS#8 ``EncryptedPrivateKeyInfo`` with PBES2
    (RFC 8018 6.2)."""
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise TypeError("key must be an RSA or EC private key")
    _check_passphrase(passphrase)
    if not isinstance(iterations, int) or iterations < MINIMUM_PBKDF2_ITERATIONS:
        raise ValueError(f"iterations must be an int of at least {MINIMUM_PBKDF2_ITERATIONS}")
    plain = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt = secrets.token_bytes(16)
    iv = secrets.token_bytes(16)
    kek = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations).derive(
        passphrase
    )
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    info = asn1_keys.EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": {
                "algorithm": "pbes2",
                "parameters": {
                    "key_derivation_func": {
                        "algorithm": "pbkdf2",
                        "parameters": {
                            "salt": asn1_algos.Pbkdf2Salt(name="specified", value=salt),
                            "iteration_count": iterations,
                            "prf": {"algorithm": "sha256"},
                        },
                    },
                    "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
                },
            },
            "encrypted_data": ciphertext,
        }
    )
    armored: bytes = asn1_pem.armor(_PEM_LABEL, info.dump())
    return armored


def save_encrypted_key(
    path: Path | str,
    key: PrivateKey,
    passphrase: bytes,
    *,
    iterations: int = DEFAULT_PBKDF2_ITERATIONS,
) -> None:
    """Write ``key`` to ``path`` encrypted under ``passphrase``; atomic, mode 0600."""
    target = Path(path)
    pem = encrypt_private_key_pem(key, passphrase, iterations=iterations)
    if not target.parent.is_dir():
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            f"Cannot write the key file because directory {target.parent} does not exist.",
            field="path",
        )
    write_private_file(target, pem)


def load_encrypted_key(path: Path | str, passphrase: bytes) -> PrivateKey:
    """Read an encrypted PKCS#8 RSA or EC key written by :func:`save_encrypted_key`.

    Unencrypted key files are refused: a CA key must never rest in the clear.
    """
    _check_passphrase(passphrase)
    source = Path(path)
    try:
        data = source.read_bytes()
    except FileNotFoundError as exc:
        raise EhcertError(
            ErrorKind.NOT_FOUND, f"Key file {source} does not exist.", field="path"
        ) from exc
    if asn1_pem.detect(data):
        label, _, der = asn1_pem.unarmor(data)
        if label != _PEM_LABEL:
            raise EhcertError(
                ErrorKind.MALFORMED,
                f"Key file {source} is a '{label}' PEM, not an encrypted PKCS#8 private key.",
                field="path",
            )
    else:
        der = data
    try:
        key = serialization.load_der_private_key(der, password=passphrase)
    except TypeError as exc:  # the file is not encrypted
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"Key file {source} is not encrypted; CA keys must be stored encrypted.",
            field="path",
        ) from exc
    except ValueError as exc:
        if "password" in str(exc).lower() or "decrypt" in str(exc).lower():
            raise EhcertError(
                ErrorKind.UNAUTHORIZED,
                f"The passphrase for key file {source} is wrong.",
                field="passphrase",
            ) from exc
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"Key file {source} is not a readable encrypted PKCS#8 private key.",
            field="path",
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise EhcertError(
            ErrorKind.BAD_KEY,
            f"Key file {source} holds neither an RSA nor an EC key.",
            field="path",
        )
    check_public_key(key, f"key in {source}", field="path")
    return key

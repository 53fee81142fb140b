"""The ETK depot's proof-of-possession challenge: encrypted to an encryption key, opened
by its holder only (``etkdepot.registration`` encrypts, the Certificate Manager opens).

Possession of an encryption key is proven by doing what the key is for:

- **RSA**: the challenge is encrypted with RSAES-PKCS1-v1_5 (RFC 8017 section 7.2), the
  key transport eHealth's sealed messages use with this very key.
- **EC** (P-256, P-384): an EC key cannot decrypt; it agrees on keys. The challenge is
  sent as sealed messages reach an EC recipient (RFC 5753 section 3.1.1,
  ephemeral-static ECDH): the depot makes an ephemeral key on the recipient's curve,
  derives a key-encryption key from the shared secret with the ANSI X9.63 KDF (SEC 1
  section 3.6.1; SHA-256 on P-256, SHA-384 on P-384) and wraps the challenge with AES-256
  key wrap (RFC 3394). The blob is the ephemeral point (uncompressed, SEC 1 section
  2.3.3) followed by the wrapped challenge. The KDF's shared info names the purpose, so
  the derived key serves for nothing else.

The answer travels back only to the depot that asked, in a signed request, and a
challenge is answerable once, so neither scheme exposes an oracle.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ehcert.pki.public_keys import PrivateKey, PublicKey, signature_hash

_SHARED_INFO = b"ehcert ETK registration challenge"
_KEK_BYTES = 32


class ChallengeNotOpened(ValueError):
    """The challenge does not open with this key."""


def _kek(shared_secret: bytes, key: ec.EllipticCurvePublicKey) -> bytes:
    return X963KDF(
        algorithm=signature_hash(key), length=_KEK_BYTES, sharedinfo=_SHARED_INFO
    ).derive(shared_secret)


def encrypt_challenge(public_key: PublicKey, plain: bytes) -> bytes:
    """``plain`` (a multiple of 8 bytes, at least 16, for the EC key wrap) encrypted to
    ``public_key`` as the module docstring says."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return public_key.encrypt(plain, padding.PKCS1v15())
    ephemeral = ec.generate_private_key(public_key.curve)
    kek = _kek(ephemeral.exchange(ec.ECDH(), public_key), public_key)
    point = ephemeral.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return point + aes_key_wrap(kek, plain)


def decrypt_challenge(private_key: PrivateKey, encrypted: bytes) -> bytes:
    """Open a challenge made by :func:`encrypt_challenge`; ChallengeNotOpened otherwise."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        try:
            return private_key.decrypt(encrypted, padding.PKCS1v15())
        except ValueError as exc:
            raise ChallengeNotOpened("RSA decryption failed") from exc
    size = 1 + 2 * ((private_key.curve.key_size + 7) // 8)
    try:
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(
            private_key.curve, encrypted[:size]
        )
        kek = _kek(private_key.exchange(ec.ECDH(), ephemeral), private_key.public_key())
        return aes_key_unwrap(kek, encrypted[size:])
    except (ValueError, InvalidUnwrap) as exc:
        raise ChallengeNotOpened("the EC challenge does not open with this key") from exc

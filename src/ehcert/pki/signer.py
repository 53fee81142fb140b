"""The ``Signer`` interface: the only way a CA, OCSP or ETK key is ever used.

The CA never touches key material directly; it hands bytes to a signer that may hold the
key in a file (encrypted at rest) or in an HSM reached through PKCS#11. The signature
algorithm follows the key (:func:`signature_algorithm`):

- RSA: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 section 8.2; ``sha256WithRSAEncryption``,
  RFC 4055 section 5), the algorithm eHealth's first-generation CAs use;
- EC: ECDSA with SHA-256 on P-256 and SHA-384 on P-384 (``ecdsa-with-SHA256`` /
  ``ecdsa-with-SHA384``, RFC 5758 section 3.2; RFC 5480 section 4 pairs each curve with
  the hash of its strength), the algorithm of eHealth's second-generation issuing CA. The
  signature is the DER ``Ecdsa-Sig-Value`` (RFC 3279 section 2.2.3).
"""

from __future__ import annotations

from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ehcert.pki.public_keys import PrivateKey, PublicKey, signature_hash


class Signer(Protocol):
    """Something that signs with one RSA or EC private key it never reveals."""

    def public_key(self) -> PublicKey:
        """The public half, to put in certificates and to check signatures."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` with the key's algorithm (module docstring) and return the
        signature (DER ``Ecdsa-Sig-Value`` for EC)."""
        ...


def signature_algorithm(key: PublicKey) -> str:
    """The asn1crypto name of the X.509/CMS signature algorithm a signer of ``key`` uses:
    ``sha256_rsa``, ``sha256_ecdsa`` or ``sha384_ecdsa``."""
    if isinstance(key, rsa.RSAPublicKey):
        return "sha256_rsa"
    return f"{signature_hash(key).name}_ecdsa"


def verifies(key: PublicKey, signature: bytes, data: bytes) -> bool:
    """Does ``signature`` (as :class:`Signer` makes it) verify under ``key``?"""
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), signature_hash(key))
        else:
            key.verify(signature, data, ec.ECDSA(signature_hash(key)))
    except (InvalidSignature, ValueError):
        return False
    return True


def sign_with(key: PrivateKey, data: bytes) -> bytes:
    """The signature a :class:`Signer` over ``key`` makes of ``data``."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), signature_hash(key))
    return key.sign(data, ec.ECDSA(signature_hash(key)))


class PrivateKeySigner:
    """A signer over an in-memory ``cryptography`` RSA or EC key (loaded from an
    encrypted file)."""

    def __init__(self, key: PrivateKey) -> None:
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise TypeError("key must be an RSA or EC private key")
        self._key = key

    def public_key(self) -> PublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        return sign_with(self._key, data)

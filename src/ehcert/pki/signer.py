"""The ``Signer`` interface: the only way a CA, OCSP or ETK key is ever used.

The CA never touches key material directly; it hands bytes to a signer that may hold the
key in a file (encrypted at rest) or in an HSM reached through PKCS#11. Every signature
the platform makes is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 section 8.2;
``sha256WithRSAEncryption``, RFC 4055 section 5), the algorithm eHealth's CAs use.
"""

from __future__ import annotations

from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class Signer(Protocol):
    """Something that signs with one RSA private key it never reveals."""

    def public_key(self) -> rsa.RSAPublicKey:
        """The public half, to put in certificates and to check signatures."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` with RSASSA-PKCS1-v1_5 over SHA-256 and return the signature."""
        ...


class PrivateKeySigner:
    """A signer over an in-memory ``cryptography`` RSA key (loaded from an encrypted file)."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("key must be an RSA private key")
        self._key = key

    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())

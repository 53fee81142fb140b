"""Reading an OCSP request as a responder: one CertID, a known hash, a sane serial.

``cryptography`` parses an OCSPRequest lazily and raises a different exception for each
flaw it finds on the way (``NotImplementedError`` for zero or several entries,
``UnsupportedAlgorithm`` for an MD5 or SHA-3 CertID hash, ``DuplicateExtension`` for two
nonces). :func:`read_ocsp_request` reads every part a responder uses once, up front, and
turns each flaw into one ``EhcertError`` MALFORMED, which the responder answers with
``malformedRequest`` (RFC 6960 section 2.3), never with an HTTP error.

Accepted (RFC 6960 section 4.1.1, RFC 5280 section 4.1.2.2):

- exactly one Request entry (the platform answers one certificate at a time);
- CertID hashed with SHA-1 (the profile of RFC 5019 and every eHealth client) or
  SHA-256/384/512;
- a serial number that is positive and at most 20 octets;
- request extensions that are not duplicated (so at most one nonce, which is echoed
  whatever its length: RFC 8954 lets a responder answer other lengths too).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from ehcert.core.errors import EhcertError, ErrorKind

__all__ = ["OcspQuery", "read_ocsp_request"]

CERT_ID_HASHES: tuple[type[hashes.HashAlgorithm], ...] = (
    hashes.SHA1,
    hashes.SHA256,
    hashes.SHA384,
    hashes.SHA512,
)
MAX_SERIAL_OCTETS = 20


@dataclass(frozen=True, slots=True)
class OcspQuery:
    """What one OCSP request asks, read completely (every attribute is safe to use)."""

    request: ocsp.OCSPRequest
    hash_algorithm: hashes.HashAlgorithm
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial_number: int
    nonce: x509.OCSPNonce | None


def _malformed(detail: str) -> EhcertError:
    return EhcertError(ErrorKind.MALFORMED, f"The OCSP request {detail}.", field="ocsp")


def read_ocsp_request(der: bytes) -> OcspQuery:
    """Parse a DER OCSPRequest; ``EhcertError`` MALFORMED when a responder cannot answer it."""
    if not isinstance(der, bytes):
        raise TypeError("der must be bytes")
    try:
        request = ocsp.load_der_ocsp_request(der)
    except NotImplementedError:
        raise _malformed("must hold exactly one certificate identifier") from None
    except ValueError:
        raise _malformed("is not DER of an OCSPRequest") from None
    try:
        algorithm = request.hash_algorithm
    except UnsupportedAlgorithm:
        raise _malformed("hashes its CertID with an algorithm other than SHA-1 or SHA-2") from None
    if not isinstance(algorithm, CERT_ID_HASHES):
        raise _malformed(f"hashes its CertID with {algorithm.name}, which is not accepted")
    name_hash, key_hash = request.issuer_name_hash, request.issuer_key_hash
    if len(name_hash) != algorithm.digest_size or len(key_hash) != algorithm.digest_size:
        raise _malformed(f"has issuer hashes that are not {algorithm.name} digests")
    serial = request.serial_number
    if serial <= 0 or (serial.bit_length() + 7) // 8 > MAX_SERIAL_OCTETS:
        raise _malformed(
            f"asks for a serial number that is not positive or over {MAX_SERIAL_OCTETS} octets"
        )
    try:
        extensions = list(request.extensions)
    except (ValueError, x509.DuplicateExtension):
        raise _malformed("has duplicated or unreadable extensions") from None
    nonces = [e.value for e in extensions if isinstance(e.value, x509.OCSPNonce)]
    return OcspQuery(request, algorithm, name_hash, key_hash, serial, nonces[0] if nonces else None)

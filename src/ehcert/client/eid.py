"""The requester's strong credential: an eID authentication key and its certificate.

A care provider proves who they are to the RA by signing a server nonce with the
authentication key of their Belgian eID card (DESIGN.md, "Request" flow). The card is a
PKCS#11 token on which the eID middleware exposes the key and certificate both labelled
"Authentication", next to the "CA" and "Root" certificates of its chain. Tests and
integrators without a card use a PKCS#12 file holding the same material.

Signatures follow JWS naming (RFC 7518 section 3.1): ``RS256`` is RSASSA-PKCS1-v1_5 with
SHA-256, ``PS256`` is RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 7518
section 3.5), both for RSA keys; ``ES256`` and ``ES384`` are ECDSA with P-256 and SHA-256
or P-384 and SHA-384, the signature ``r || s`` of fixed length (RFC 7518 section 3.4).
Every Belgian eID card since applet 1.8 (2021) holds a P-384 authentication key and signs
ES384: through PKCS#11 with ``CKM_ECDSA`` over a SHA-384 digest computed here, since the
card hashes nothing. :func:`default_algorithm` tells which one a credential's key takes,
so the request flow needs no flag for the card's key type.

This module belongs to the client SDK: it uses :mod:`ehcert.pki` and :mod:`ehcert.core`
and nothing from the server side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.jws import algorithm_for
from ehcert.pki.pkcs11 import Pkcs11Token
from ehcert.pki.public_keys import PrivateKey, certificate_public_key, ecdsa_raw, signature_hash

SignatureAlgorithm = Literal["RS256", "PS256", "ES256", "ES384"]
SIGNATURE_ALGORITHMS: tuple[SignatureAlgorithm, ...] = ("RS256", "PS256", "ES256", "ES384")
BELGIAN_EID_AUTHENTICATION_LABEL = "Authentication"
PSS_SALT_LENGTH = 32  # the SHA-256 output size, RFC 7518 section 3.5


@runtime_checkable
class EidCredential(Protocol):
    """An authentication certificate plus the power to sign with its private key."""

    @property
    def certificate(self) -> x509.Certificate:
        """The holder's authentication certificate."""
        ...

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """Its issuers, nearest first; may be empty."""
        ...

    def sign(self, data: bytes, algorithm: SignatureAlgorithm) -> bytes:
        """Sign ``data`` with the authentication key under ``algorithm``."""
        ...


def _check_sign_arguments(data: object, algorithm: object, certificate: x509.Certificate) -> None:
    if not isinstance(data, bytes):
        raise TypeError("data must be bytes")
    if algorithm not in SIGNATURE_ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(SIGNATURE_ALGORITHMS)}")
    key = certificate.public_key()
    is_ec = isinstance(key, ec.EllipticCurvePublicKey)
    if str(algorithm).startswith("ES") != is_ec or (is_ec and algorithm != algorithm_for(key)):
        raise ValueError(f"{algorithm} does not fit the eID key; it signs {algorithm_for(key)}")


def default_algorithm(credential: EidCredential) -> SignatureAlgorithm:
    """What ``credential``'s key signs with: RS256 (RSA), ES256 (P-256) or ES384 (P-384,
    every Belgian eID card since 2021)."""
    return algorithm_for(credential.certificate.public_key())


def order_chain(
    leaf: x509.Certificate, candidates: list[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    """The issuers of ``leaf`` found among ``candidates``, nearest first.

    This only orders what the holder presents; whether the chain is trusted is the
    verifier's decision (RFC 5280 section 6.1). A candidate is the issuer when its subject
    is the child's issuer name and, where both are present, its subjectKeyIdentifier is
    the child's authorityKeyIdentifier (RFC 5280 section 4.2.1.1). Signatures are not
    checked here: older eHealth chains still carry SHA-1 signatures.
    """
    chain: list[x509.Certificate] = []
    current = leaf
    remaining = [c for c in candidates if c != leaf]
    while current.issuer != current.subject:
        issuer = next((c for c in remaining if _is_issuer(current, c)), None)
        if issuer is None:
            break
        chain.append(issuer)
        remaining.remove(issuer)
        current = issuer
    return tuple(chain)


def _key_identifier(cert: x509.Certificate, ext_type: type[Any]) -> bytes | None:
    try:
        value = cert.extensions.get_extension_for_class(ext_type).value
    except x509.ExtensionNotFound:
        return None
    if isinstance(value, x509.SubjectKeyIdentifier):
        return value.digest
    identifier: bytes | None = value.key_identifier
    return identifier


def _is_issuer(child: x509.Certificate, candidate: x509.Certificate) -> bool:
    if candidate.subject != child.issuer:
        return False
    authority = _key_identifier(child, x509.AuthorityKeyIdentifier)
    subject = _key_identifier(candidate, x509.SubjectKeyIdentifier)
    return authority is None or subject is None or authority == subject


class Pkcs12EidCredential:
    """An eID-like credential read from a PKCS#12 file (RFC 7292)."""

    def __init__(
        self,
        key: PrivateKey,
        certificate: x509.Certificate,
        chain: tuple[x509.Certificate, ...] = (),
    ) -> None:
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise TypeError("key must be an RSA or EC private key")
        if not isinstance(certificate, x509.Certificate):
            raise TypeError("certificate must be an x509.Certificate")
        if certificate.public_key() != key.public_key():
            raise ValueError("certificate does not certify key")
        self._key = key
        self._certificate = certificate
        self._chain = tuple(chain)

    @classmethod
    def from_file(cls, path: Path | str, pin: str) -> Pkcs12EidCredential:
        """Load key, certificate and chain from ``path``.

        The chain is the file's other certificates: the issuers in path order first, then
        any others in file order.
        """
        if not isinstance(pin, str):
            raise TypeError("pin must be a str")
        source = Path(path)
        try:
            data = source.read_bytes()
        except FileNotFoundError as exc:
            raise EhcertError(
                ErrorKind.NOT_FOUND, f"PKCS#12 file {source} does not exist.", field="path"
            ) from exc
        return cls.from_bytes(data, pin, name=f"PKCS#12 file {source}")

    @classmethod
    def from_bytes(
        cls, data: bytes, pin: str, *, name: str = "The PKCS#12 file"
    ) -> Pkcs12EidCredential:
        """Load key, certificate and chain from the file's content (an upload, say);
        ``name`` starts the sentences that say what is wrong with it."""
        if not isinstance(data, bytes):
            raise TypeError("data must be bytes")
        if not isinstance(pin, str):
            raise TypeError("pin must be a str")
        try:
            key, certificate, others = pkcs12.load_key_and_certificates(data, pin.encode())
        except UnsupportedAlgorithm as exc:
            raise EhcertError(
                ErrorKind.BAD_KEY,
                f"{name} holds a key of a kind or curve the platform does not accept.",
                field="path",
            ) from exc
        except ValueError as exc:
            raise EhcertError(
                ErrorKind.UNAUTHORIZED,
                f"{name} cannot be opened: the PIN is wrong or the file is damaged.",
                field="pin",
            ) from exc
        if certificate is None or key is None:
            raise EhcertError(
                ErrorKind.MALFORMED,
                f"{name} does not hold both a private key and its certificate.",
                field="path",
            )
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise EhcertError(
                ErrorKind.BAD_KEY,
                f"{name} holds neither an RSA nor an EC key.",
                field="path",
            )
        certificate_public_key(certificate, f"eID key ({name})", field="path")
        issuers = order_chain(certificate, list(others))
        rest = tuple(c for c in others if c not in issuers and c != certificate)
        return cls(key, certificate, issuers + rest)

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        return self._chain

    def sign(self, data: bytes, algorithm: SignatureAlgorithm) -> bytes:
        _check_sign_arguments(data, algorithm, self._certificate)
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            der = self._key.sign(data, ec.ECDSA(signature_hash(self._key)))
            return ecdsa_raw(der, self._key)
        if algorithm == "PS256":
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LENGTH)
            return self._key.sign(data, pss, hashes.SHA256())
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())


class Pkcs11EidCredential:
    """The authentication key and certificate on a PKCS#11 token such as the eID card.

    The key never leaves the token: RS256 uses CKM_SHA256_RSA_PKCS and PS256
    CKM_SHA256_RSA_PKCS_PSS (MGF1-SHA-256, salt 32); ES256/ES384 CKM_ECDSA over the
    SHA-256/SHA-384 digest computed here (``pki.pkcs11_ec``). The chain is assembled from the
    token's other certificates ("CA", "Root" on a Belgian eID card).
    """

    def __init__(
        self,
        module: Path | str,
        token_label: str,
        pin: str,
        key_label: str = BELGIAN_EID_AUTHENTICATION_LABEL,
    ) -> None:
        self._token = Pkcs11Token(module, token_label, pin)
        if not isinstance(key_label, str) or not key_label:
            raise TypeError("key_label must be a non-empty str")
        self.key_label = key_label
        on_token = self._token.certificates()
        labelled = [cert for label, cert in on_token if label == key_label]
        if not labelled:
            raise EhcertError(
                ErrorKind.NOT_FOUND,
                f"Token '{token_label}' holds no certificate labelled '{key_label}'.",
                field="key_label",
            )
        if len(labelled) > 1:
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"Token '{token_label}' holds several certificates labelled '{key_label}'.",
                field="key_label",
            )
        self._certificate = labelled[0]
        if self._token.public_key(key_label) != self._certificate.public_key():
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"On token '{token_label}' the '{key_label}' key and certificate do not match.",
                field="key_label",
            )
        self._chain = order_chain(self._certificate, [cert for _, cert in on_token])

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        return self._chain

    def sign(self, data: bytes, algorithm: SignatureAlgorithm) -> bytes:
        _check_sign_arguments(data, algorithm, self._certificate)
        return self._token.sign(self.key_label, data, pss=algorithm == "PS256")

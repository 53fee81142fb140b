"""The holder's keys: new key pairs, certificate signing requests, request signers.

The private key of a care provider never leaves the machine that runs the Certificate
Manager (DESIGN.md: "the server never sees a private key of a provider"). What goes to
the platform is a PKCS#10 request (RFC 2986) that proves possession of the key by its
self-signature, and nothing else the platform would have to trust: the subject is empty
and there are no extensions, because the registration authority writes the eHealth
subject from the authentic source and the CA profile decides every extension. A CSR that
asked for a name could only be ignored or refused, so it asks for none.

Requests to the platform are signed by a :class:`RequestSigner`: the eID for a first
request or a lost keystore, the keystore's authentication key for everything after.

Keys are RSA or EC (``core.keys.REQUEST_KEY_TYPES``: rsa-2048, rsa-3072, ec-p256,
ec-p384). Each signs with the hash of its strength (``pki.public_keys.signature_hash``):
a P-384 key's CSR and encryption certificate are ecdsa-with-SHA384 (RFC 5758 section
3.2), its requests ES384 (RFC 7518 section 3.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ehcert.client.eid import (
    SIGNATURE_ALGORITHMS,
    EidCredential,
    SignatureAlgorithm,
    default_algorithm,
)
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import KEY_POLICY, REQUEST_KEY_TYPES, KeyType, check_issued_key_size
from ehcert.core.keys import key_type as parse_key_type
from ehcert.pki import key_challenge, profiles
from ehcert.pki.jws import JwsAlgorithm, algorithm_for
from ehcert.pki.keystore_entries import KeyEntry
from ehcert.pki.public_keys import PrivateKey, ecdsa_raw, generate_private_key, signature_hash

# RFC 8017 section 3.1 recommends e = 65537; it is also the only exponent pyca accepts
# without a warning and the one every eHealth certificate carries.
PUBLIC_EXPONENT = 65537


def generate_rsa_key(bits: int = KEY_POLICY.rsa_default_bits) -> rsa.RSAPrivateKey:
    """Generate an RSA key pair of a size the eHealth policy accepts (2048, 3072 or 4096).

    The size is checked before the (slow) generation so a refused size fails at once with
    the policy's sentence (``core.keys.check_issued_key_size``).
    """
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError("bits must be an int")
    check_issued_key_size(bits)
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=bits)


def generate_key(key_type: KeyType | str) -> PrivateKey:
    """A new key of ``key_type`` (a :class:`KeyType` or its name, one of
    ``REQUEST_KEY_TYPES``); a name outside them is refused before any generation."""
    chosen = parse_key_type(key_type) if isinstance(key_type, str) else key_type
    if not isinstance(chosen, KeyType):
        raise TypeError("key_type must be a KeyType or its name")
    if chosen.name not in REQUEST_KEY_TYPES:
        parse_key_type(chosen.name)
    return generate_private_key(chosen)


def build_csr(key: PrivateKey) -> bytes:
    """A DER PKCS#10 request with an empty subject, no attributes, signed with the key's
    hash (SHA-256, or SHA-384 for P-384).

    RFC 2986 section 4.1 allows an empty ``subject`` (``Name ::= SEQUENCE OF`` with no
    element); the signature (``sha256WithRSAEncryption``, RFC 4055 section 5, or
    ``ecdsa-with-SHA256/384``, RFC 5758 section 3.2) is the proof of possession the
    platform checks.
    """
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise TypeError("key must be an RSA or EC private key")
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    csr = request.sign(key, signature_hash(key))
    return csr.public_bytes(serialization.Encoding.DER)


class RequestSigner(Protocol):
    """Who signs a request: a certificate chain (leaf first) and its private key.

    ``alg`` is the JWS algorithm (RFC 7518 section 3.1) that ``sign`` implements.
    """

    @property
    def chain(self) -> Sequence[x509.Certificate]: ...

    @property
    def alg(self) -> JwsAlgorithm: ...

    def sign(self, data: bytes) -> bytes: ...


class EidRequestSigner:
    """Signs requests with an eID authentication key (first request, lost keystore)."""

    def __init__(self, credential: EidCredential, alg: SignatureAlgorithm | None = None) -> None:
        """``alg`` None: what the eID key signs with (RS256, or ES384 for a card of
        today), so the card's key type is detected, never asked."""
        if not isinstance(credential, EidCredential):
            raise TypeError("credential must be an EidCredential")
        chosen = default_algorithm(credential) if alg is None else alg
        if chosen not in SIGNATURE_ALGORITHMS:
            raise ValueError(f"alg must be one of {', '.join(SIGNATURE_ALGORITHMS)}")
        self._credential = credential
        self._alg: SignatureAlgorithm = chosen

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        return (self._credential.certificate, *self._credential.chain)

    @property
    def alg(self) -> JwsAlgorithm:
        return self._alg

    def sign(self, data: bytes) -> bytes:
        return self._credential.sign(data, self._alg)


class KeyEntryRequestSigner:
    """Signs requests with the authentication key of a current eHealth keystore.

    RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 section 3.3), the algorithm eHealth
    RSA authentication keys are used with everywhere else (STS, sealed messages); an EC
    key signs ES256 or ES384 (section 3.4) by its curve.
    """

    def __init__(self, entry: KeyEntry) -> None:
        if not isinstance(entry, KeyEntry):
            raise TypeError("entry must be a KeyEntry")
        if not isinstance(entry.private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise TypeError("the keystore entry must hold an RSA or EC key")
        self._entry = entry
        self._key: PrivateKey = entry.private_key

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        issuers = tuple(c for c in self._entry.chain if c != self._entry.certificate)
        return (self._entry.certificate, *issuers)

    @property
    def alg(self) -> JwsAlgorithm:
        return algorithm_for(self._key)

    def sign(self, data: bytes) -> bytes:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return ecdsa_raw(self._key.sign(data, ec.ECDSA(signature_hash(self._key))), self._key)
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())


# --- encryption keys and ETK registration -------------------------------------------------


def build_encryption_certificate(
    authentication_key: PrivateKey,
    authentication_certificate: x509.Certificate,
    encryption_key: PrivateKey,
) -> x509.Certificate:
    """The holder's encryption certificate, signed by the authentication key.

    The eHealth ETK layout (``pki.profiles.ehealth_encryption_builder``): subject and
    issuer are the authentication certificate's subject, the validity is the
    authentication certificate's, keyUsage critical keyEncipherment + dataEncipherment
    (keyAgreement for an EC encryption key), a random serial; signed by the authentication
    key with its hash (sha256WithRSAEncryption, or ecdsa-with-SHA384 for a P-384 key). Its
    decimal serial is the key's alias in the keystore.
    """
    kinds = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if not isinstance(authentication_key, kinds) or not isinstance(encryption_key, kinds):
        raise TypeError("both keys must be RSA or EC private keys")
    builder = profiles.ehealth_encryption_builder(
        authentication_certificate.subject,
        encryption_key.public_key(),
        authentication_certificate,
        serial=profiles.random_serial(),
        not_before=authentication_certificate.not_valid_before_utc,
        not_after=authentication_certificate.not_valid_after_utc,
    )
    return builder.sign(authentication_key, signature_hash(authentication_key))


def decrypt_challenge(encryption_key: PrivateKey, encrypted: bytes) -> bytes:
    """Open the platform's registration challenge (``pki.key_challenge``: RSAES-PKCS1-v1_5
    for RSA, RFC 8017 7.2.2; ephemeral-static ECDH and AES key wrap for EC).

    Proving possession by decryption is what the key is for. The answer goes back only to
    the platform that asked, over a signed request, so no padding oracle is exposed.
    """
    try:
        return key_challenge.decrypt_challenge(encryption_key, encrypted)
    except key_challenge.ChallengeNotOpened:
        raise EhcertError(
            ErrorKind.UNTRUSTED,
            "The platform's ETK registration challenge cannot be decrypted with the new "
            "encryption key.",
        ) from None

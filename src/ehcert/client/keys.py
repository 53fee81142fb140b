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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ehcert.client.eid import SIGNATURE_ALGORITHMS, EidCredential, SignatureAlgorithm
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import KEY_POLICY, check_issued_key_size
from ehcert.pki import profiles
from ehcert.pki.jws import JwsAlgorithm
from ehcert.pki.keystore_entries import KeyEntry

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


def build_csr(key: rsa.RSAPrivateKey) -> bytes:
    """A DER PKCS#10 request with an empty subject, no attributes, signed with SHA-256.

    RFC 2986 section 4.1 allows an empty ``subject`` (``Name ::= SEQUENCE OF`` with no
    element); the signature (``sha256WithRSAEncryption``, RFC 4055 section 5) is the
    proof of possession the platform checks.
    """
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("key must be an RSA private key")
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    csr = request.sign(key, hashes.SHA256())
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

    def __init__(self, credential: EidCredential, alg: SignatureAlgorithm = "RS256") -> None:
        if not isinstance(credential, EidCredential):
            raise TypeError("credential must be an EidCredential")
        if alg not in SIGNATURE_ALGORITHMS:
            raise ValueError(f"alg must be one of {', '.join(SIGNATURE_ALGORITHMS)}")
        self._credential = credential
        self._alg: SignatureAlgorithm = alg

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
    authentication keys are used with everywhere else (STS, sealed messages).
    """

    def __init__(self, entry: KeyEntry) -> None:
        if not isinstance(entry, KeyEntry):
            raise TypeError("entry must be a KeyEntry")
        if not isinstance(entry.private_key, rsa.RSAPrivateKey):
            raise TypeError("the keystore entry must hold an RSA key")
        self._entry = entry
        self._key: rsa.RSAPrivateKey = entry.private_key

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        issuers = tuple(c for c in self._entry.chain if c != self._entry.certificate)
        return (self._entry.certificate, *issuers)

    @property
    def alg(self) -> JwsAlgorithm:
        return "RS256"

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())


# --- encryption keys and ETK registration -------------------------------------------------


def build_encryption_certificate(
    authentication_key: rsa.RSAPrivateKey,
    authentication_certificate: x509.Certificate,
    encryption_key: rsa.RSAPrivateKey,
) -> x509.Certificate:
    """The holder's encryption certificate, signed by the authentication key.

    The eHealth ETK layout (``pki.profiles.ehealth_encryption_builder``): subject and
    issuer are the authentication certificate's subject, the validity is the
    authentication certificate's, keyUsage critical keyEncipherment + dataEncipherment,
    a random serial; signed with sha256WithRSAEncryption (RFC 4055 section 5). Its
    decimal serial is the key's alias in the keystore.
    """
    if not isinstance(authentication_key, rsa.RSAPrivateKey) or not isinstance(
        encryption_key, rsa.RSAPrivateKey
    ):
        raise TypeError("both keys must be RSA private keys")
    builder = profiles.ehealth_encryption_builder(
        authentication_certificate.subject,
        encryption_key.public_key(),
        authentication_certificate,
        serial=profiles.random_serial(),
        not_before=authentication_certificate.not_valid_before_utc,
        not_after=authentication_certificate.not_valid_after_utc,
    )
    return builder.sign(authentication_key, hashes.SHA256())


def decrypt_challenge(encryption_key: rsa.RSAPrivateKey, encrypted: bytes) -> bytes:
    """Open the platform's registration challenge (RSAES-PKCS1-v1_5, RFC 8017 7.2.2).

    Proving possession by decryption is what the key is for; PKCS#1 v1.5 is the key
    transport eHealth's sealed messages use with it. The answer goes back only to the
    platform that asked, over a signed request, so no padding oracle is exposed.
    """
    try:
        return encryption_key.decrypt(encrypted, padding.PKCS1v15())
    except ValueError:
        raise EhcertError(
            ErrorKind.UNTRUSTED,
            "The platform's ETK registration challenge cannot be decrypted with the new "
            "encryption key.",
        ) from None

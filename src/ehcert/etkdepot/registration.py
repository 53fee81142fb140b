"""ETK registration: may this encryption certificate be published, and does the holder
really hold its private key?

The flow follows eHealth's ETK registration, in two signed requests, both by the
holder's new authentication certificate (the Certificate Manager registers right after
issuance):

1. **challenge**: the client sends its encryption certificate. The depot checks it
   (:func:`check_encryption_certificate`), draws 32 random bytes and encrypts them to the
   encryption key (:mod:`ehcert.pki.key_challenge`): RSAES-PKCS1-v1_5 for an RSA key,
   ephemeral-static ECDH with AES key wrap for an EC key, as sealed messages reach
   either. Only the SHA-256 of the challenge is stored,
   for :data:`CHALLENGE_TTL`, answerable once.
2. **answer**: the client decrypts and returns the plain challenge. The challenge is
   consumed first, in its own transaction, so a wrong answer burns it as surely as a
   right one (no second guess, no replay); only a right answer makes the CA's depot
   signer sign the ETK, which is then published.

Possession is proven by decryption, not by a signature: an encryption key must never
sign (its certificate allows keyEncipherment and dataEncipherment only, or keyAgreement
only for EC), and decrypting is exactly what the holder will have to do with it.

Which authentication certificate may register: the holder's newest live one (the one
"just issued"). An older, still valid certificate cannot publish a new ETK after a
renewal, so the depot never goes back to a superseded key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ehcert.core.audit import REFUSED, AuditSink, refusal_detail
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identity import Identity
from ehcert.etkdepot.ports import (
    EtkChallengeFacts,
    EtkChallenges,
    EtkPublication,
    EtkPublisher,
    EtkSigner,
)
from ehcert.pki.key_challenge import encrypt_challenge
from ehcert.pki.public_keys import certificate_public_key
from ehcert.ra.ports import CertificateFacts, CertificateLedger

CHALLENGE_TTL = dt.timedelta(minutes=5)
CHALLENGE_BYTES = 32
FIELD = "encryption_certificate"
_SIGNATURE_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)
_RSA_ENCRYPTION_USAGES = frozenset({"key_encipherment", "data_encipherment"})
_EC_ENCRYPTION_USAGES = frozenset({"key_agreement"})
_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def _refuse(kind: ErrorKind, detail: str) -> EhcertError:
    return EhcertError(kind, detail, field=FIELD)


def _spki(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def encryption_key_sha256(certificate: x509.Certificate) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo: how the depot tells keys apart."""
    return hashlib.sha256(_spki(certificate)).hexdigest()


def parse_encryption_certificate(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as error:
        raise _refuse(
            ErrorKind.MALFORMED, "The encryption certificate is not a DER X.509 certificate."
        ) from error


def check_encryption_certificate(
    encryption: x509.Certificate, authentication: x509.Certificate, now: dt.datetime
) -> None:
    """The eHealth rules for an encryption certificate bound to ``authentication``.

    - subject and issuer equal the authentication certificate's subject, and the
      signature verifies under the authentication key with SHA-256 or stronger
      (the holder vouches for the encryption key with the key the CA certified);
    - a key the policy accepts (RSA of at least 2048 bits, EC on P-256 or P-384 by name,
      its point on the curve), different from the authentication key;
    - keyUsage critical with exactly keyEncipherment and dataEncipherment (RFC 5280
      section 4.2.1.3; the key only unwraps content-encryption keys, RFC 5652 6.2.1),
      or for an EC key exactly keyAgreement (RFC 5480 section 3, RFC 5753);
      basicConstraints, if present, not a CA;
    - valid now and not outside the authentication certificate's validity: an ETK must
      not outlive the certificate that vouches for it.
    """
    subject = authentication.subject.rfc4514_string()
    if encryption.subject != authentication.subject or encryption.issuer != authentication.subject:
        raise _refuse(
            ErrorKind.MALFORMED,
            f"The encryption certificate's subject and issuer must both be {subject}.",
        )
    try:
        encryption.verify_directly_issued_by(authentication)
    except (InvalidSignature, ValueError, TypeError) as error:
        raise _refuse(
            ErrorKind.UNTRUSTED,
            "The encryption certificate is not signed by the authentication certificate's key.",
        ) from error
    if not isinstance(encryption.signature_hash_algorithm, _SIGNATURE_HASHES):
        raise _refuse(
            ErrorKind.BAD_KEY, "The encryption certificate must be signed with SHA-256 or stronger."
        )
    certificate_public_key(encryption, "encryption key", field=FIELD)
    if _spki(encryption) == _spki(authentication):
        raise _refuse(
            ErrorKind.BAD_KEY,
            "The encryption key must differ from the authentication key.",
        )
    _check_usage(encryption)
    if not encryption.not_valid_before_utc <= now <= encryption.not_valid_after_utc:
        raise _refuse(ErrorKind.MALFORMED, "The encryption certificate is not valid now.")
    if (
        encryption.not_valid_before_utc < authentication.not_valid_before_utc
        or encryption.not_valid_after_utc > authentication.not_valid_after_utc
    ):
        raise _refuse(
            ErrorKind.MALFORMED,
            "The encryption certificate's validity must lie within the authentication "
            f"certificate's ({authentication.not_valid_before_utc:%Y-%m-%d} to "
            f"{authentication.not_valid_after_utc:%Y-%m-%d}).",
        )


def _check_usage(encryption: x509.Certificate) -> None:
    try:
        usage_ext = encryption.extensions.get_extension_for_class(x509.KeyUsage)
    except x509.ExtensionNotFound:
        usage_ext = None
    usage = usage_ext.value if usage_ext is not None else None
    is_ec = isinstance(encryption.public_key(), ec.EllipticCurvePublicKey)
    wanted = _EC_ENCRYPTION_USAGES if is_ec else _RSA_ENCRYPTION_USAGES
    asserted = {bit for bit in _USAGES if usage is not None and getattr(usage, bit)}
    if (
        usage_ext is None
        or usage is None
        or not usage_ext.critical
        or asserted != wanted
        or (is_ec and (usage.encipher_only or usage.decipher_only))
    ):
        needed = "keyAgreement" if is_ec else "keyEncipherment and dataEncipherment"
        raise _refuse(
            ErrorKind.BAD_KEY,
            f"The encryption certificate needs a critical keyUsage of exactly {needed}.",
        )
    try:
        constraints = encryption.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return
    if constraints.value.ca:
        raise _refuse(ErrorKind.BAD_KEY, "The encryption certificate must not be a CA.")


@dataclass(frozen=True, slots=True)
class IssuedChallenge:
    id: str
    encrypted_challenge: bytes
    expires_at: dt.datetime


def answer_sha256(answer: bytes) -> str:
    return hashlib.sha256(answer).hexdigest()


class EtkRegistrar:
    def __init__(
        self,
        ledger: CertificateLedger,
        challenges: EtkChallenges,
        publisher: EtkPublisher,
        signer: EtkSigner,
        audit: AuditSink,
        *,
        challenge_ttl: dt.timedelta = CHALLENGE_TTL,
    ) -> None:
        self._ledger = ledger
        self._challenges = challenges
        self._publisher = publisher
        self._signer = signer
        self._audit = audit
        self._ttl = challenge_ttl

    def _refused(
        self, identity: Identity, action: str, error: EhcertError, now: dt.datetime
    ) -> None:
        self._audit.record(
            REFUSED,
            identity.actor,
            f"serial={identity.certificate_serial}",
            refusal_detail(action, error),
            now,
        )

    def _current(self, identity: Identity, now: dt.datetime) -> CertificateFacts:
        """The signer's certificate, if it is its holder's newest live one."""
        if identity.method != "certificate" or identity.certificate_serial is None:
            raise EhcertError(
                ErrorKind.UNAUTHORIZED,
                "An ETK is registered with the eHealth authentication certificate it belongs "
                "to; sign the request with that certificate.",
            )
        current = self._ledger.get(identity.certificate_serial)
        if current is None or not current.is_live(now):
            raise EhcertError(
                ErrorKind.FORBIDDEN,
                f"Certificate {identity.certificate_serial} is not valid now and cannot "
                "register an ETK.",
            )
        holder = current.holder
        siblings = [
            facts
            for facts in self._ledger.for_holder(holder.type, holder.value)
            if facts.holder == holder and facts.is_live(now)
        ]
        # The ledger lists a holder's certificates newest first (latest expiry, then
        # latest issued), so the first live one is the one "just issued".
        newest = siblings[0] if siblings else current
        if newest.serial_hex != current.serial_hex:
            raise EhcertError(
                ErrorKind.FORBIDDEN,
                f"Certificate {current.serial_hex} has been superseded by certificate "
                f"{newest.serial_hex}; register the ETK with the newest certificate.",
            )
        return current

    def challenge(
        self, identity: Identity, encryption_der: bytes, now: dt.datetime
    ) -> IssuedChallenge:
        """Check the encryption certificate and encrypt a fresh challenge to it."""
        try:
            current = self._current(identity, now)
            authentication = x509.load_der_x509_certificate(current.der)
            encryption = parse_encryption_certificate(encryption_der)
            check_encryption_certificate(encryption, authentication, now)
        except EhcertError as error:
            self._refused(identity, "etk-challenge", error, now)
            raise
        plain = secrets.token_bytes(CHALLENGE_BYTES)
        key = certificate_public_key(encryption, "encryption key", field=FIELD)
        encrypted = encrypt_challenge(key, plain)
        challenge_id = secrets.token_urlsafe(24)
        expires = self._challenges.create(
            challenge_id,
            authentication_serial=current.serial_hex,
            encryption_der=encryption_der,
            answer_sha256=answer_sha256(plain),
            now=now,
            ttl=self._ttl,
        )
        return IssuedChallenge(challenge_id, encrypted, expires)

    def take(self, identity: Identity, challenge_id: str, now: dt.datetime) -> EtkChallengeFacts:
        """Consume the challenge (once, whatever the answer will be) if it is the signer's."""
        try:
            found = self._challenges.get(challenge_id)
            if found is not None and found.authentication_serial != identity.certificate_serial:
                raise EhcertError(
                    ErrorKind.FORBIDDEN,
                    "This ETK registration challenge was issued to another certificate.",
                    field="challenge_id",
                )
            taken = self._challenges.consume(challenge_id, now) if found else None
            if taken is None:
                raise EhcertError(
                    ErrorKind.UNAUTHORIZED,
                    "The ETK registration challenge is unknown, expired or already answered; "
                    "start the registration again.",
                    field="challenge_id",
                )
        except EhcertError as error:
            self._refused(identity, "etk-answer", error, now)
            raise
        return taken

    def publish(
        self, identity: Identity, challenge: EtkChallengeFacts, answer: bytes, now: dt.datetime
    ) -> EtkPublication:
        """With the right answer, have the depot sign the ETK and publish it."""
        try:
            if not hmac.compare_digest(answer_sha256(answer), challenge.answer_sha256):
                raise EhcertError(
                    ErrorKind.UNAUTHORIZED,
                    "The answer to the ETK registration challenge is wrong, so possession of "
                    "the encryption key is not proven; start the registration again.",
                    field="answer",
                )
            current = self._current(identity, now)
            authentication = x509.load_der_x509_certificate(current.der)
            encryption = parse_encryption_certificate(challenge.encryption_der)
            check_encryption_certificate(encryption, authentication, now)
        except EhcertError as error:
            self._refused(identity, "etk-answer", error, now)
            raise
        der = self._signer.sign_etk(encryption, authentication, now)
        publication = EtkPublication(current.holder, encryption, current.serial_hex, der, now)
        self._publisher.publish(publication)
        self._audit.record(
            "etk-published",
            identity.actor,
            str(current.holder),
            {
                "authentication_serial": current.serial_hex,
                "encryption_serial": str(encryption.serial_number),
                "etk_sha256": hashlib.sha256(der).hexdigest(),
            },
            now,
        )
        return publication

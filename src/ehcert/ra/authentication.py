"""Who is asking: authentication methods as plug-ins that yield an :class:`Identity`.

Like step-ca's provisioners, each method verifies one kind of proof and says what it
proved; the RA then decides what that identity may do. Methods:

- ``eid``: a signature by a Belgian eID authentication key (or the acceptance
  environment's test eID) whose certificate chains to a configured eID CA, is valid now
  and not revoked; the SSIN is the subject ``serialNumber`` (eID card profile).
- ``certificate``: a signature by the key of a current eHealth certificate that this
  platform issued, valid now and not revoked (renewal and revocation with the
  certificate, as eHealth's certificate RA allows).
- ``admin``: an operator at the platform's own console (``ehcert admin``); never
  reachable over HTTP.

The signature itself is checked by :func:`ehcert.pki.jws.verify_jws` before a method
sees the chain; a method checks the chain and maps it to a person or holder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder, Ssin
from ehcert.core.names import parse_ehealth_subject
from ehcert.pki.pathval import KeyPurpose, RevocationStatus, validate_path

Method = Literal["eid", "certificate", "admin"]


@dataclass(frozen=True, slots=True)
class Identity:
    """What an authentication proved.

    ``ssin`` is the natural person behind the request when known (eID; or the holder of
    a person's certificate). ``certificate_serial`` and ``holder`` are set for the
    ``certificate`` method: the proof is possession of that certificate's key.
    """

    method: Method
    ssin: str | None
    display_name: str
    certificate_serial: str | None = None
    holder: Holder | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this identity."""
        if self.method == "certificate":
            return f"certificate:{self.certificate_serial}"
        if self.method == "eid":
            return f"eid:SSIN={self.ssin}"
        return f"admin:{self.display_name}"


def admin_identity(operator: str) -> Identity:
    return Identity("admin", None, operator or "operator")


RevocationCheck = Callable[[x509.Certificate, x509.Certificate], RevocationStatus]


class EidAuthenticator:
    """Verifies an eID chain against the configured eID CAs and reads the SSIN."""

    def __init__(
        self, anchors: Sequence[x509.Certificate], revocation: RevocationCheck | None
    ) -> None:
        self._anchors = list(anchors)
        self._revocation = revocation

    def authenticate(self, chain: Sequence[x509.Certificate], at: dt.datetime) -> Identity:
        if not chain:
            raise EhcertError(ErrorKind.UNAUTHORIZED, "The request carries no eID certificate.")
        leaf = chain[0]
        validate_path(
            leaf,
            list(chain[1:]),
            self._anchors,
            at=at,
            purpose=KeyPurpose.CLIENT_AUTHENTICATION,
            revocation=self._revocation,
            leaf_label="eID certificate",
        )
        serials = leaf.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
        if len(serials) != 1:
            raise EhcertError(
                ErrorKind.UNAUTHORIZED,
                "The eID certificate has no SSIN in its subject serialNumber.",
            )
        try:
            ssin = Ssin(str(serials[0].value)).value
        except ValueError as error:
            raise EhcertError(
                ErrorKind.UNAUTHORIZED, f"The eID certificate's serialNumber is no SSIN: {error}."
            ) from error
        names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        display = str(names[0].value).removesuffix(" (Authentication)") if names else ssin
        return Identity("eid", ssin, display)


@dataclass(frozen=True, slots=True)
class KnownCertificate:
    """What the platform's records say about a certificate it issued."""

    serial_hex: str
    der: bytes
    status: str
    not_after: dt.datetime


class CertificateAuthenticator:
    """Verifies that the signer holds a current certificate issued by this platform."""

    def __init__(
        self,
        issuing: x509.Certificate,
        root: x509.Certificate,
        lookup: Callable[[str], KnownCertificate | None],
    ) -> None:
        self._issuing = issuing
        self._root = root
        self._lookup = lookup

    def issued_here(self, leaf: x509.Certificate) -> bool:
        return leaf.issuer == self._issuing.subject

    def authenticate(self, chain: Sequence[x509.Certificate], at: dt.datetime) -> Identity:
        leaf = chain[0]
        serial_hex = format(leaf.serial_number, "x")
        known = self._lookup(serial_hex)
        if known is None or known.der != leaf.public_bytes(serialization.Encoding.DER):
            raise EhcertError(
                ErrorKind.UNAUTHORIZED,
                f"Certificate {serial_hex} was not issued by this platform.",
            )
        if known.status == "revoked":
            raise EhcertError(
                ErrorKind.REVOKED,
                f"Certificate {serial_hex} is revoked and cannot authenticate requests.",
            )
        try:
            validate_path(
                leaf,
                [self._issuing],
                [self._root],
                at=at,
                purpose=KeyPurpose.CLIENT_AUTHENTICATION,
                revocation=None,
                leaf_label="eHealth certificate",
            )
        except EhcertError as refusal:
            if refusal.kind is not ErrorKind.CERTIFICATE_EXPIRED or at <= leaf.not_valid_after_utc:
                raise
            # Policy: after expiry there is no renewal, only a new request; say so, since
            # the holder's next step is the eID, not another try with this certificate.
            raise EhcertError(
                ErrorKind.CERTIFICATE_EXPIRED,
                f"Certificate {serial_hex} expired on {leaf.not_valid_after_utc:%Y-%m-%d}; "
                "an expired certificate can no longer renew or sign requests, make a new "
                "request with your eID.",
            ) from refusal
        parsed = parse_ehealth_subject(leaf.subject)
        holder = Holder(parsed.identifier_type, parsed.identifier_value, parsed.application_id)
        ssin = holder.value if holder.is_person else None
        return Identity(
            "certificate",
            ssin,
            parsed.display_name or str(holder),
            certificate_serial=serial_hex,
            holder=holder,
        )


class Authenticators:
    """Chooses the method from the chain: our own issuing CA means ``certificate``."""

    def __init__(self, eid: EidAuthenticator, certificate: CertificateAuthenticator) -> None:
        self.eid = eid
        self.certificate = certificate

    def authenticate(self, chain: Sequence[x509.Certificate], at: dt.datetime) -> Identity:
        if not chain:
            raise EhcertError(ErrorKind.UNAUTHORIZED, "The request carries no certificate.")
        if self.certificate.issued_here(chain[0]):
            return self.certificate.authenticate(chain, at)
        return self.eid.authenticate(chain, at)

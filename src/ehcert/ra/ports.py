"""What the RA needs from the rest of the platform, as narrow interfaces.

The RA decides; it holds no keys and touches no tables. It reads the registry
(``registry.facts.RegistryReader``) and the certificate ledger, asks the CA to sign,
and writes decisions to the audit trail (``core.audit.AuditSink``), each through one
small protocol (Boulder splits its storage into read-only and read-write parts the same
way, and its CA service has one issue method).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509

from ehcert.core.identifiers import Holder
from ehcert.pki.public_keys import PublicKey


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    serial_hex: str
    holder: Holder
    subject: str
    not_before: dt.datetime
    not_after: dt.datetime
    status: str  # valid | revoked
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    requested_by_ssin: str | None
    der: bytes
    digital_key: str | None = None  # the digital key it was requested or renewed under

    def is_live(self, now: dt.datetime) -> bool:
        return self.status == "valid" and self.not_before <= now <= self.not_after

    def state(self, now: dt.datetime) -> str:
        if self.status == "revoked":
            return "revoked"
        return "expired" if now > self.not_after else "valid"


class CertificateLedger(Protocol):
    def get(self, serial_hex: str) -> CertificateFacts | None: ...

    def successor(self, serial_hex: str) -> CertificateFacts | None:
        """The certificate that renewed ``serial_hex`` (a certificate is renewed once)."""
        ...

    def certifying(self, public_key: PublicKey) -> CertificateFacts | None:
        """The certificate of ``public_key``, if it was ever certified here."""
        ...

    def for_holder(self, holder_type: str, holder_value: str) -> list[CertificateFacts]:
        """Per application id, newest first (latest expiry, then latest issued)."""
        ...


@dataclass(frozen=True, slots=True)
class IssueOrder:
    """Everything the CA needs to sign one authentication certificate."""

    subject: x509.Name
    public_key: PublicKey
    holder: Holder
    requested_by_ssin: str | None
    predecessor_serial_hex: str | None = None
    digital_key: str | None = None


class DigitalKeyRevocations(Protocol):
    def revoked(self, username: str) -> tuple[dt.datetime, str | None] | None:
        """When and why the registration office revoked digital key ``username``;
        None while it is live."""
        ...


class Issuer(Protocol):
    def issue(self, order: IssueOrder, now: dt.datetime) -> CertificateFacts: ...


class Revoker(Protocol):
    def revoke(
        self, serial_hex: str, reason: str, at: dt.datetime, by: str
    ) -> CertificateFacts: ...


class AuthenticationSigner(Protocol):
    """The one CA operation issuance needs (``CertificateAuthority.sign_authentication``)."""

    def sign_authentication(
        self,
        subject: x509.Name,
        public_key: PublicKey,
        serial: int,
        now: dt.datetime,
    ) -> x509.Certificate: ...

"""What the RA needs from the rest of the platform, as narrow interfaces.

The RA decides; it holds no keys and touches no tables. It reads the registry and the
certificate ledger, asks the CA to sign, and writes decisions to the audit log, each
through one of these small protocols (Boulder splits its storage into read-only and
read-write parts the same way).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ehcert.core.identifiers import Holder, InstitutionId


@dataclass(frozen=True, slots=True)
class ProviderFacts:
    ssin: str
    first_name: str
    last_name: str
    profession: str
    status: str  # validated | pending | withdrawn
    nihii: str | None = None


@dataclass(frozen=True, slots=True)
class InstitutionFacts:
    institution: InstitutionId
    name: str
    security_norms_date: dt.date | None
    data_sharing_authorisation: str | None


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

    def is_live(self, now: dt.datetime) -> bool:
        return self.status == "valid" and self.not_before <= now <= self.not_after

    def state(self, now: dt.datetime) -> str:
        if self.status == "revoked":
            return "revoked"
        return "expired" if now > self.not_after else "valid"


class RegistryReader(Protocol):
    def provider(self, ssin: str) -> ProviderFacts | None: ...

    def institution(self, institution: InstitutionId) -> InstitutionFacts | None: ...

    def mandate_active(self, institution: InstitutionId, ssin: str, at: dt.datetime) -> bool: ...

    def mandated_institutions(self, ssin: str, at: dt.datetime) -> list[InstitutionId]: ...


class CertificateLedger(Protocol):
    def get(self, serial_hex: str) -> CertificateFacts | None: ...

    def for_holder(self, holder_type: str, holder_value: str) -> list[CertificateFacts]:
        """Per application id, newest first (latest expiry, then latest issued)."""
        ...


@dataclass(frozen=True, slots=True)
class IssueOrder:
    """Everything the CA needs to sign one authentication certificate."""

    subject: x509.Name
    public_key: rsa.RSAPublicKey
    holder: Holder
    requested_by_ssin: str | None
    predecessor_serial_hex: str | None = None


class Issuer(Protocol):
    def issue(self, order: IssueOrder, now: dt.datetime) -> CertificateFacts: ...


class Revoker(Protocol):
    def revoke(
        self, serial_hex: str, reason: str, at: dt.datetime, by: str
    ) -> CertificateFacts: ...


class AuditSink(Protocol):
    def record(
        self, action: str, actor: str, subject: str, detail: dict[str, object], at: dt.datetime
    ) -> None: ...


# --- the ETK depot's registration (ra.etk_registration) ----------------------------------


@dataclass(frozen=True, slots=True)
class EtkChallengeFacts:
    """A stored registration challenge: who asked, for which certificate, what answers it."""

    id: str
    authentication_serial: str
    encryption_der: bytes
    answer_sha256: str
    expires_at: dt.datetime


class EtkChallenges(Protocol):
    def create(
        self,
        challenge_id: str,
        *,
        authentication_serial: str,
        encryption_der: bytes,
        answer_sha256: str,
        now: dt.datetime,
        ttl: dt.timedelta,
    ) -> dt.datetime: ...

    def get(self, challenge_id: str) -> EtkChallengeFacts | None: ...

    def consume(self, challenge_id: str, now: dt.datetime) -> EtkChallengeFacts | None: ...


@dataclass(frozen=True, slots=True)
class EtkPublication:
    """What the depot publishes: the signed ETK and the facts it is looked up by."""

    holder: Holder
    encryption_certificate: x509.Certificate
    authentication_serial: str
    der: bytes
    published_at: dt.datetime


class EtkPublisher(Protocol):
    def publish(self, publication: EtkPublication) -> None: ...


class EtkSigner(Protocol):
    """The CA's depot signer (``CertificateAuthority.sign_etk``)."""

    def sign_etk(
        self,
        encryption_certificate: x509.Certificate,
        authentication_certificate: x509.Certificate,
        now: dt.datetime,
    ) -> bytes: ...

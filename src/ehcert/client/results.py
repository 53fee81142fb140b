"""What the platform's answers mean, as typed values (docs/http-api.md).

Every :class:`~ehcert.client.platform.PlatformClient` operation returns one of these
frozen dataclasses rather than the JSON it received, so callers (the Certificate
Manager, the CLI) work with datetimes, certificates and enums, and a field the
platform adds or renames breaks in :mod:`ehcert.client.answers`, not in each caller.
They hold no behaviour beyond small derived views, and import nothing from the server.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509

from ehcert.core.errors import ErrorKind


class CertificateState(StrEnum):
    """A certificate's state as the platform reports it (revoked wins over expired)."""

    VALID = "valid"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """A certificate the platform has just signed, with its chain (issuing CA, root)."""

    serial: str
    subject: str
    holder: str
    not_before: dt.datetime
    not_after: dt.datetime
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    environment: str


@dataclass(frozen=True, slots=True)
class CertificateStatus:
    """The platform's view of one certificate: validity, revocation, renewal window."""

    serial: str
    subject: str
    holder: str
    status: CertificateState
    not_before: dt.datetime
    not_after: dt.datetime
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    renewal_opens: dt.datetime
    renewal_window_open: bool


@dataclass(frozen=True, slots=True)
class SelfQuality:
    """Whether the signer may request a certificate for themself, as which profession."""

    allowed: bool
    profession: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class InstitutionQuality:
    """Whether the signer may request a certificate for the institution ``holder``."""

    holder: str
    name: str | None
    allowed: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class Qualities:
    """What the signer may request a certificate for (certra ``getActorQualities``)."""

    ssin: str
    name: str
    as_self: SelfQuality
    institutions: tuple[InstitutionQuality, ...]


@dataclass(frozen=True, slots=True)
class ApplicationIds:
    """Application ids that already hold a certificate for ``holder``."""

    holder: str
    application_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RenewalCheck:
    """Would a renewal be accepted now (certra ``validateRenew``), and why not."""

    accepted: bool
    reason: str | None
    kind: ErrorKind | None
    not_after: dt.datetime
    renewal_opens: dt.datetime
    days_before_expiration: int


@dataclass(frozen=True, slots=True)
class PlatformCertificates:
    """The certificates a platform publishes: its CA hierarchy and the eID anchors it trusts."""

    environment: str
    root: x509.Certificate
    issuing: x509.Certificate
    ocsp_signer: x509.Certificate
    etk_depot: x509.Certificate
    eid_anchors: tuple[x509.Certificate, ...]

    @property
    def chain(self) -> tuple[x509.Certificate, x509.Certificate]:
        """Issuing CA then root: the chain of every certificate issued here."""
        return (self.issuing, self.root)


@dataclass(frozen=True, slots=True)
class EtkChallenge:
    """ETK registration step 1: a random challenge encrypted to the encryption key."""

    id: str
    encrypted: bytes
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class EtkIdentifier:
    """Who an ETK is looked up for: ``TYPE=VALUE[,APPLICATION_ID]``."""

    type: str
    value: str
    application_id: str | None = None

    def __str__(self) -> str:
        base = f"{self.type}={self.value}"
        return f"{base},{self.application_id}" if self.application_id else base


@dataclass(frozen=True, slots=True)
class PublishedEtk:
    """An ETK as the depot publishes it. ``der`` is the CMS SignedData (verify it before
    use, ``pki.etk``); ``etk_sha256`` is the SHA-256 of ``der`` and
    ``encryption_certificate_sha256`` that of the encryption certificate inside."""

    holder: str
    subject: str
    encryption_serial: str
    authentication_serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    published_at: dt.datetime
    der: bytes
    etk_sha256: str
    encryption_certificate_sha256: str


@dataclass(frozen=True, slots=True)
class EtkLookupResult:
    """GetEtk's answer for one identifier: exactly one of ``etk``, ``matching``, ``error``."""

    identifier: EtkIdentifier
    etk: PublishedEtk | None
    matching: tuple[EtkIdentifier, ...]
    error: str | None

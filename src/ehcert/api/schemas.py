"""JSON shapes of the HTTP API (pydantic), so OpenAPI documents every answer."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel

from ehcert.core.errors import EhcertError
from ehcert.core.policy import renewal_opens, renewal_window_is_open
from ehcert.ra.ports import CertificateFacts

if TYPE_CHECKING:
    from ehcert.platform import Platform


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


class NonceAnswer(BaseModel):
    nonce: str


class IssuedAnswer(BaseModel):
    serial: str
    subject: str
    holder: str
    not_before: dt.datetime
    not_after: dt.datetime
    certificate: str
    chain: list[str]
    environment: str


class StatusAnswer(BaseModel):
    serial: str
    subject: str
    holder: str
    status: str
    not_before: dt.datetime
    not_after: dt.datetime
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    renewal_opens: dt.datetime
    renewal_window_open: bool


class SelfQuality(BaseModel):
    allowed: bool
    reason: str | None
    profession: str | None


class InstitutionQuality(BaseModel):
    holder: str
    name: str | None
    allowed: bool
    reason: str | None


class QualitiesAnswer(BaseModel):
    ssin: str
    name: str
    as_self: SelfQuality
    institutions: list[InstitutionQuality]


class ApplicationIdsAnswer(BaseModel):
    holder: str
    application_ids: list[str]


class RevocableAnswer(BaseModel):
    certificates: list[StatusAnswer]


class RenewalCheckAnswer(BaseModel):
    accepted: bool
    reason: str | None
    kind: str | None
    not_after: dt.datetime
    renewal_opens: dt.datetime
    days_before_expiration: int

    @classmethod
    def build(
        cls, current: CertificateFacts, refusal: EhcertError | None, now: dt.datetime
    ) -> RenewalCheckAnswer:
        return cls(
            accepted=refusal is None,
            reason=refusal.detail if refusal else None,
            kind=refusal.kind.value if refusal else None,
            not_after=current.not_after,
            renewal_opens=renewal_opens(current.not_after),
            days_before_expiration=(current.not_after - now).days,
        )


class CaCertificates(BaseModel):
    environment: str
    root: str
    issuing: str
    ocsp_signer: str
    eid_anchors: list[str]

    @classmethod
    def from_platform(cls, platform: Platform) -> CaCertificates:
        hierarchy = platform.hierarchy
        return cls(
            environment=hierarchy.environment,
            root=_pem(hierarchy.root.certificate),
            issuing=_pem(hierarchy.issuing.certificate),
            ocsp_signer=_pem(hierarchy.ocsp.certificate),
            eid_anchors=[_pem(cert) for cert in platform.eid_anchors],
        )


def issued_answer(facts: CertificateFacts, platform: Platform) -> IssuedAnswer:
    certificate = x509.load_der_x509_certificate(facts.der)
    return IssuedAnswer(
        serial=facts.serial_hex,
        subject=facts.subject,
        holder=str(facts.holder),
        not_before=facts.not_before,
        not_after=facts.not_after,
        certificate=_pem(certificate),
        chain=[_pem(cert) for cert in platform.hierarchy.chain],
        environment=platform.hierarchy.environment,
    )


def status_answer(facts: CertificateFacts, now: dt.datetime) -> StatusAnswer:
    return StatusAnswer(
        serial=facts.serial_hex,
        subject=facts.subject,
        holder=str(facts.holder),
        status=facts.state(now),
        not_before=facts.not_before,
        not_after=facts.not_after,
        revoked_at=facts.revoked_at,
        revocation_reason=facts.revocation_reason,
        renewal_opens=renewal_opens(facts.not_after),
        renewal_window_open=facts.status == "valid"
        and renewal_window_is_open(facts.not_after, now),
    )

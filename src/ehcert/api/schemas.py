"""JSON shapes of the HTTP API (pydantic), so OpenAPI documents every answer."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel

from ehcert.core.errors import EhcertError
from ehcert.core.policy import renewal_opens, renewal_window_is_open
from ehcert.etkdepot.lookup import EtkAnswer, EtkQuery, ServedEtk
from ehcert.etkdepot.ports import EtkPublication
from ehcert.ra.ports import CertificateFacts


def pem_text(certificate: x509.Certificate) -> str:
    """A certificate as PEM text, the form every JSON answer here carries."""
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
    etk_depot: str
    eid_anchors: list[str]


def issued_answer(
    facts: CertificateFacts, chain: Sequence[x509.Certificate], environment: str
) -> IssuedAnswer:
    """``facts`` with the CA chain (issuing CA then root) that accompanies a certificate."""
    certificate = x509.load_der_x509_certificate(facts.der)
    return IssuedAnswer(
        serial=facts.serial_hex,
        subject=facts.subject,
        holder=str(facts.holder),
        not_before=facts.not_before,
        not_after=facts.not_after,
        certificate=pem_text(certificate),
        chain=[pem_text(cert) for cert in chain],
        environment=environment,
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


# --- the ETK depot ------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    """Standard base64, as the GetEtk XSD's base64Binary ``ETK`` element carries it."""
    return base64.b64encode(data).decode("ascii")


class EtkChallengeAnswer(BaseModel):
    challenge_id: str
    challenge: str  # base64url of the RSAES-PKCS1-v1_5 ciphertext
    expires_at: dt.datetime


class EtkIdentifier(BaseModel):
    type: str
    value: str
    application_id: str | None


class EtkDescription(BaseModel):
    holder: str
    subject: str
    encryption_serial: str
    authentication_serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    published_at: dt.datetime
    etk: str
    etk_sha256: str
    encryption_certificate_sha256: str


class EtkError(BaseModel):
    code: str
    message: str


class EtkResult(BaseModel):
    identifier: EtkIdentifier
    etk: EtkDescription | None
    matching: list[EtkIdentifier]
    error: EtkError | None


class EtkLookupAnswer(BaseModel):
    results: list[EtkResult]


def _identifier(query: EtkQuery) -> EtkIdentifier:
    return EtkIdentifier(type=query.type, value=query.value, application_id=query.application_id)


def etk_description(etk: ServedEtk) -> EtkDescription:
    return EtkDescription(
        holder=etk.holder,
        subject=etk.subject,
        encryption_serial=etk.encryption_serial,
        authentication_serial=etk.authentication_serial,
        not_before=etk.not_before,
        not_after=etk.not_after,
        published_at=etk.published_at,
        etk=_b64(etk.der),
        etk_sha256=hashlib.sha256(etk.der).hexdigest(),
        encryption_certificate_sha256=etk.encryption_certificate_sha256,
    )


def etk_published_answer(publication: EtkPublication) -> EtkDescription:
    certificate = publication.encryption_certificate
    return etk_description(
        ServedEtk(
            der=publication.der,
            holder=str(publication.holder),
            encryption_serial=str(certificate.serial_number),
            authentication_serial=publication.authentication_serial,
            subject=certificate.subject.rfc4514_string(),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            published_at=publication.published_at,
            encryption_certificate_sha256=hashlib.sha256(
                certificate.public_bytes(serialization.Encoding.DER)
            ).hexdigest(),
        )
    )


def etk_lookup_answer(answers: list[EtkAnswer]) -> EtkLookupAnswer:
    return EtkLookupAnswer(
        results=[
            EtkResult(
                identifier=_identifier(answer.query),
                etk=etk_description(answer.etk) if answer.etk else None,
                matching=[_identifier(query) for query in answer.matching],
                error=EtkError(code="not-found", message=answer.error) if answer.error else None,
            )
            for answer in answers
        ]
    )

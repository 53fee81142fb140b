"""The store behind the RA's and the ETK depot's ports, one session at a time.

``ra.ports`` and ``etkdepot.lookup`` declare what the rules need (a ledger, an issuer,
a revoker, an audit trail, ETK challenges, a publisher, an index) without naming a
database. Each adapter here binds one of those ports to the store's repositories over
the :class:`~sqlalchemy.orm.Session` it is given, so everything a request does lands in
the caller's transaction: issuance, the ledger row and the audit record commit together
or not at all. The one exception is :class:`RequestAudit`, which holds refusals back so
the composition root (:mod:`ehcert.platform.root`) can write them after the request's
transaction has rolled back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session

from ehcert.ca.authority import CertificateAuthority
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder
from ehcert.etkdepot.lookup import ServedEtk
from ehcert.ra.etk_registration import encryption_key_sha256
from ehcert.ra.ports import CertificateFacts, EtkChallengeFacts, EtkPublication, IssueOrder
from ehcert.store.audit import AuditLog
from ehcert.store.certificates import (
    CertificateReader,
    CertificateRecord,
    CertificateRepository,
    NewCertificate,
)
from ehcert.store.etks import EtkChallengeRepository, EtkReader, EtkRecord, EtkRepository, NewEtk

SERIAL_ATTEMPTS = 3

# One held-back refusal: action, actor, subject, detail, time (``AuditLog.append`` order).
Refusal = tuple[str, str, str, dict[str, object], dt.datetime]


def facts_from_record(record: CertificateRecord) -> CertificateFacts:
    return CertificateFacts(
        serial_hex=record.serial_hex,
        holder=Holder(record.holder_type, record.holder_value, record.application_id),
        subject=record.subject_dn,
        not_before=record.not_before,
        not_after=record.not_after,
        status=record.status,
        revoked_at=record.revoked_at,
        revocation_reason=record.revocation_reason,
        requested_by_ssin=record.requested_by_ssin,
        der=record.der,
    )


def public_key_sha256(certificate: x509.Certificate) -> str:
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def json_safe(detail: dict[str, object]) -> dict[str, Any]:
    """``detail`` as the JSON the audit log stores; what JSON cannot hold becomes a string."""
    return json.loads(json.dumps(detail, default=str))  # type: ignore[no-any-return]


# --- the certificate ledger (ra.ports.CertificateLedger, Issuer, Revoker, AuditSink) ---


class Ledger:
    """``ra.ports.CertificateLedger``: the certificates issued here, as the RA's rules see them."""

    def __init__(self, session: Session) -> None:
        self._reader = CertificateReader(session)

    def get(self, serial_hex: str) -> CertificateFacts | None:
        record = self._reader.by_serial(serial_hex)
        return facts_from_record(record) if record else None

    def for_holder(self, holder_type: str, holder_value: str) -> list[CertificateFacts]:
        found: list[CertificateFacts] = []
        for application_id in self._reader.application_ids_for(holder_type, holder_value):
            found += [
                facts_from_record(r)
                for r in self._reader.for_holder(holder_type, holder_value, application_id)
                if r.usage == "authentication"
            ]
        return found


class LedgerIssuer:
    """``ra.ports.Issuer``: signs with the CA and records in the ledger in the caller's transaction.

    A serial collision (2**-128 odds, but the database is the judge) is retried with a
    fresh serial; the discarded certificate is never returned or published.
    """

    def __init__(self, ca: CertificateAuthority, session: Session, environment: str) -> None:
        self._ca = ca
        self._repository = CertificateRepository(session)
        self._environment = environment

    def issue(self, order: IssueOrder, now: dt.datetime) -> CertificateFacts:
        from ehcert.pki.profiles import random_serial

        for attempt in range(SERIAL_ATTEMPTS):
            serial = random_serial()
            serial_hex = format(serial, "x")
            if attempt < SERIAL_ATTEMPTS - 1 and self._repository.by_serial(serial_hex):
                continue
            certificate = self._ca.sign_authentication(order.subject, order.public_key, serial, now)
            record = self._repository.add(
                NewCertificate(
                    serial_hex=serial_hex,
                    environment=self._environment,
                    usage="authentication",
                    holder_type=order.holder.type,
                    holder_value=order.holder.value,
                    application_id=order.holder.application_id,
                    subject_dn=certificate.subject.rfc4514_string(),
                    not_before=certificate.not_valid_before_utc,
                    not_after=certificate.not_valid_after_utc,
                    der=certificate.public_bytes(serialization.Encoding.DER),
                    public_key_sha256=public_key_sha256(certificate),
                    requested_by_ssin=order.requested_by_ssin,
                    predecessor_serial_hex=order.predecessor_serial_hex,
                    created_at=now,
                )
            )
            return facts_from_record(record)
        raise EhcertError(ErrorKind.INTERNAL, "Could not draw a unique serial number.")


class LedgerRevoker:
    """``ra.ports.Revoker``: marks a ledger row revoked in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self._repository = CertificateRepository(session)

    def revoke(self, serial_hex: str, reason: str, at: dt.datetime, by: str) -> CertificateFacts:
        return facts_from_record(self._repository.revoke(serial_hex, reason, at, by))


class RequestAudit:
    """``ra.ports.AuditSink``: successes join the request's transaction; refusals wait for
    their own (see module)."""

    def __init__(self, session: Session) -> None:
        self._log = AuditLog(session)
        self.refusals: list[Refusal] = []

    def record(
        self, action: str, actor: str, subject: str, detail: dict[str, object], at: dt.datetime
    ) -> None:
        if action == "refused":
            self.refusals.append((action, actor, subject, detail, at))
            return
        self._log.append(at, action, actor[:200], subject[:200], json_safe(detail))


def write_refusals(session: Session, refusals: list[Refusal]) -> None:
    """Append refusals held back by :class:`RequestAudit`, in a transaction of their own."""
    log = AuditLog(session)
    for action, actor, subject, detail, at in refusals:
        log.append(at, action, actor[:200], subject[:200], json_safe(detail))


# --- the ETK depot (ra.ports.EtkChallenges, EtkPublisher; etkdepot.lookup.EtkIndex) ------


class StoredEtkChallenges:
    """``ra.ports.EtkChallenges`` over the store, in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self._repository = EtkChallengeRepository(session)

    def create(
        self,
        challenge_id: str,
        *,
        authentication_serial: str,
        encryption_der: bytes,
        answer_sha256: str,
        now: dt.datetime,
        ttl: dt.timedelta,
    ) -> dt.datetime:
        return self._repository.create(
            challenge_id,
            authentication_serial=authentication_serial,
            encryption_der=encryption_der,
            answer_sha256=answer_sha256,
            now=now,
            ttl=ttl,
        )

    def get(self, challenge_id: str) -> EtkChallengeFacts | None:
        record = self._repository.get(challenge_id)
        if record is None:
            return None
        return EtkChallengeFacts(
            record.id,
            record.authentication_serial,
            record.encryption_der,
            record.answer_sha256,
            record.expires_at,
        )

    def consume(self, challenge_id: str, now: dt.datetime) -> EtkChallengeFacts | None:
        return self.get(challenge_id) if self._repository.consume(challenge_id, now) else None


class StoredEtkPublisher:
    """``ra.ports.EtkPublisher``: a verified ETK becomes a row the depot serves."""

    def __init__(self, session: Session) -> None:
        self._repository = EtkRepository(session)

    def publish(self, publication: EtkPublication) -> None:
        certificate = publication.encryption_certificate
        self._repository.publish(
            NewEtk(
                holder_type=publication.holder.type,
                holder_value=publication.holder.value,
                application_id=publication.holder.application_id,
                encryption_serial=str(certificate.serial_number),
                encryption_key_sha256=encryption_key_sha256(certificate),
                encryption_certificate_sha256=hashlib.sha256(
                    certificate.public_bytes(serialization.Encoding.DER)
                ).hexdigest(),
                authentication_serial=publication.authentication_serial,
                subject_dn=certificate.subject.rfc4514_string(),
                der=publication.der,
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
                published_at=publication.published_at,
            )
        )


def _served(record: EtkRecord) -> ServedEtk:
    holder = Holder(record.holder_type, record.holder_value, record.application_id)
    return ServedEtk(
        der=record.der,
        holder=str(holder),
        encryption_serial=record.encryption_serial,
        authentication_serial=record.authentication_serial,
        subject=record.subject_dn,
        not_before=record.not_before,
        not_after=record.not_after,
        published_at=record.published_at,
        encryption_certificate_sha256=record.encryption_certificate_sha256,
    )


class StoredEtkIndex:
    """``etkdepot.lookup.EtkIndex`` over the store's read-only ETK queries."""

    def __init__(self, session: Session) -> None:
        self._reader = EtkReader(session)

    def served(
        self, holder_type: str, holder_value: str, application_id: str | None, now: dt.datetime
    ) -> list[ServedEtk]:
        return [
            _served(r) for r in self._reader.served(holder_type, holder_value, application_id, now)
        ]

    def served_application_ids(
        self, holder_type: str, holder_value: str, now: dt.datetime
    ) -> list[str]:
        return self._reader.served_application_ids(holder_type, holder_value, now)

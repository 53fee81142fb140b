"""The store behind the ETK depot's ports, one session at a time.

Registration's ports (``etkdepot.ports``) and the lookup's index (``etkdepot.lookup``)
are bound here to the store's ETK tables (``store.etks``) over the session they are
given, so a challenge, a publication and its audit record land in the caller's
transaction (``etkdepot.service``).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session

from ehcert.core.identifiers import Holder
from ehcert.etkdepot.lookup import ServedEtk
from ehcert.etkdepot.ports import EtkChallengeFacts, EtkPublication
from ehcert.etkdepot.registration import encryption_key_sha256
from ehcert.store.etks import EtkChallengeRepository, EtkReader, EtkRecord, EtkRepository, NewEtk


class StoredEtkChallenges:
    """``etkdepot.ports.EtkChallenges`` over the store, in the caller's transaction."""

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
    """``etkdepot.ports.EtkPublisher``: a verified ETK becomes a row the depot serves."""

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
        served_until=record.served_until,
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

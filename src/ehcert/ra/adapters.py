"""The store behind the RA's ports, one session at a time.

``ra.ports`` declares what the rules need (a ledger, an issuer, a revoker) without
naming a database. Each adapter here binds one port to the store's repositories over
the :class:`~sqlalchemy.orm.Session` it is given, so everything an operation does lands
in the caller's transaction: the CA's signature, the ledger row and the audit record
commit together or not at all (``ra.application``).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder
from ehcert.pki.profiles import random_serial
from ehcert.pki.public_keys import PublicKey
from ehcert.ra.ports import AuthenticationSigner, CertificateFacts, IssueOrder
from ehcert.store.certificates import (
    CertificateReader,
    CertificateRecord,
    CertificateRepository,
    NewCertificate,
)
from ehcert.store.digital_keys import DigitalKeyRecord, DigitalKeyRepository, NewDigitalKey

SERIAL_ATTEMPTS = 3


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
        digital_key=record.digital_key,
    )


def public_key_sha256(certificate: x509.Certificate) -> str:
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


class Ledger:
    """``ra.ports.CertificateLedger``: the certificates issued here, as the RA's rules see them."""

    def __init__(self, session: Session) -> None:
        self._reader = CertificateReader(session)

    def get(self, serial_hex: str) -> CertificateFacts | None:
        record = self._reader.by_serial(serial_hex)
        return facts_from_record(record) if record else None

    def certifying(self, public_key: PublicKey) -> CertificateFacts | None:
        spki = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        record = self._reader.by_public_key_sha256(hashlib.sha256(spki).hexdigest())
        return facts_from_record(record) if record else None

    def successor(self, serial_hex: str) -> CertificateFacts | None:
        record = self._reader.successor_of(serial_hex)
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

    def __init__(self, ca: AuthenticationSigner, session: Session, environment: str) -> None:
        self._ca = ca
        self._repository = CertificateRepository(session)
        self._environment = environment

    def issue(self, order: IssueOrder, now: dt.datetime) -> CertificateFacts:
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
                    digital_key=order.digital_key,
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


class StoredDigitalKeys:
    """The digital keys over the store, as the login (``ra.digital_key.DigitalKeyStore``),
    the registration office (``ra.registration_office.DigitalKeyIssuer``) and the RA's
    renewal rule (``ra.ports.DigitalKeyRevocations``) see them."""

    def __init__(self, session: Session) -> None:
        self._repository = DigitalKeyRepository(session)

    def by_username(self, username: str) -> DigitalKeyRecord | None:
        return self._repository.by_username(username)

    def spend_step(self, username: str, step: int) -> bool:
        return self._repository.spend_step(username, step)

    def count_failure(self, username: str) -> int:
        return self._repository.count_failure(username)

    def lock(self, username: str, until: dt.datetime) -> None:
        self._repository.lock(username, until)

    def add(
        self,
        username: str,
        ssin: str,
        *,
        password_hash: str,
        totp_secret: str,
        identity_check_id: int,
        at: dt.datetime,
    ) -> None:
        self._repository.add(
            NewDigitalKey(username, ssin, password_hash, totp_secret, identity_check_id, at)
        )

    def revoke(self, username: str, at: dt.datetime, by: str, reason: str) -> DigitalKeyRecord:
        return self._repository.revoke(username, at, by, reason)

    def revoked(self, username: str) -> tuple[dt.datetime, str | None] | None:
        record = self._repository.by_username(username)
        if record is None or record.revoked_at is None:
            return None
        return record.revoked_at, record.revocation_reason

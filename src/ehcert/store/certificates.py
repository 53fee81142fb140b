"""Issued certificates: a read-only view for status services, a read-write one for the RA/CA.

Split as Boulder splits its storage authority: OCSP, CRL and ETK publication only ever get
a :class:`CertificateReader`; only the issuing and revoking code gets a
:class:`CertificateRepository`.

Uniqueness is the database's job, not a read-then-insert race: ``serial_hex`` is unique
(RFC 5280 section 4.1.2.2: the serial identifies a certificate of its issuer) and so is
``public_key_sha256`` (a key is certified at most once; renewal requires a new key). A
violation surfaces as ``EhcertError(CONFLICT)`` naming which one. Because PostgreSQL aborts
the transaction on a violated constraint, a CONFLICT from :meth:`CertificateRepository.add`
ends the unit of work.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Select, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder
from ehcert.core.revocation import REVOCATION_REASONS
from ehcert.store.columns import require_aware
from ehcert.store.db import affected_rows, violated_constraint
from ehcert.store.models import CERTIFICATE_USAGES, ENVIRONMENTS, CertificateRow
from ehcert.store.ocsp_cache import OcspCache

_SERIAL_HEX = re.compile(r"[0-9a-f]{1,40}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def check_serial_hex(serial_hex: str) -> str:
    """Serials are stored as lower-case hex without leading ``0x`` (at most 20 octets)."""
    if not isinstance(serial_hex, str):
        raise TypeError("serial_hex must be a string")
    if not _SERIAL_HEX.fullmatch(serial_hex):
        raise ValueError(f"serial_hex must be 1 to 40 lower-case hex digits, got {serial_hex!r}")
    return serial_hex


def check_revocation_reason(reason: str) -> str:
    """The store records only the reasons of ``core.revocation`` (those the RA accepts);
    anything else here is a programming error, the RA having refused it first."""
    if reason not in REVOCATION_REASONS:
        known = ", ".join(REVOCATION_REASONS)
        raise ValueError(f"unknown revocation reason {reason!r}; RFC 5280 names: {known}")
    return reason


@dataclass(frozen=True, slots=True)
class NewCertificate:
    """What the CA hands to the store after signing (status starts ``valid``)."""

    serial_hex: str
    environment: str
    usage: str
    holder_type: str
    holder_value: str
    application_id: str | None
    subject_dn: str
    not_before: dt.datetime
    not_after: dt.datetime
    der: bytes
    public_key_sha256: str
    requested_by_ssin: str | None
    predecessor_serial_hex: str | None
    created_at: dt.datetime
    digital_key: str | None = None  # the username it was requested or renewed under

    def __post_init__(self) -> None:
        check_serial_hex(self.serial_hex)
        if self.predecessor_serial_hex is not None:
            check_serial_hex(self.predecessor_serial_hex)
        if self.environment not in ENVIRONMENTS:
            raise ValueError(f"environment must be one of {ENVIRONMENTS}")
        if self.usage not in CERTIFICATE_USAGES:
            raise ValueError(f"usage must be one of {CERTIFICATE_USAGES}")
        if not _SHA256_HEX.fullmatch(self.public_key_sha256):
            raise ValueError("public_key_sha256 must be 64 lower-case hex digits")
        if require_aware(self.not_after, "not_after") <= require_aware(
            self.not_before, "not_before"
        ):
            raise ValueError("not_after must be after not_before")
        require_aware(self.created_at, "created_at")
        if not isinstance(self.der, bytes) or not self.der:
            raise ValueError("der must be the non-empty DER encoding of the certificate")


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    """A stored certificate, as callers see it (immutable; never an ORM object)."""

    serial_hex: str
    environment: str
    usage: str
    holder_type: str
    holder_value: str
    application_id: str | None
    subject_dn: str
    not_before: dt.datetime
    not_after: dt.datetime
    status: str
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    revoked_by: str | None
    der: bytes
    public_key_sha256: str
    requested_by_ssin: str | None
    predecessor_serial_hex: str | None
    created_at: dt.datetime
    digital_key: str | None = None

    @property
    def holder(self) -> Holder:
        return Holder(self.holder_type, self.holder_value, self.application_id)

    @property
    def is_revoked(self) -> bool:
        return self.status == "revoked"

    def is_valid_at(self, at: dt.datetime) -> bool:
        """Not revoked and inside its validity period (RFC 5280 section 4.1.2.5)."""
        return not self.is_revoked and self.not_before <= at <= self.not_after

    @classmethod
    def from_row(cls, row: CertificateRow) -> CertificateRecord:
        return cls(
            serial_hex=row.serial_hex,
            environment=row.environment,
            usage=row.usage,
            holder_type=row.holder_type,
            holder_value=row.holder_value,
            application_id=row.application_id,
            subject_dn=row.subject_dn,
            not_before=row.not_before,
            not_after=row.not_after,
            status=row.status,
            revoked_at=row.revoked_at,
            revocation_reason=row.revocation_reason,
            revoked_by=row.revoked_by,
            der=bytes(row.der),
            public_key_sha256=row.public_key_sha256,
            requested_by_ssin=row.requested_by_ssin,
            predecessor_serial_hex=row.predecessor_serial_hex,
            created_at=row.created_at,
            digital_key=row.digital_key,
        )


@dataclass(frozen=True, slots=True)
class RevokedEntry:
    """One ``revokedCertificates`` entry of a CRL (RFC 5280 section 5.1.2.6)."""

    serial_hex: str
    revoked_at: dt.datetime
    reason: str
    not_after: dt.datetime


class CertificateReader:
    """Read-only queries over issued certificates."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _records(self, statement: Select[CertificateRow]) -> list[CertificateRecord]:
        rows = self._session.scalars(statement.execution_options(populate_existing=True))
        return [CertificateRecord.from_row(row) for row in rows]

    def by_serial(self, serial_hex: str) -> CertificateRecord | None:
        found = self._records(
            select(CertificateRow).where(CertificateRow.serial_hex == check_serial_hex(serial_hex))
        )
        return found[0] if found else None

    def successor_of(self, serial_hex: str) -> CertificateRecord | None:
        """The certificate that renewed ``serial_hex``, if any (there is at most one)."""
        found = self._records(
            select(CertificateRow).where(
                CertificateRow.predecessor_serial_hex == check_serial_hex(serial_hex)
            )
        )
        return found[0] if found else None

    def by_public_key_sha256(self, public_key_sha256: str) -> CertificateRecord | None:
        """The certificate of a public key, if that key was ever certified."""
        found = self._records(
            select(CertificateRow).where(CertificateRow.public_key_sha256 == public_key_sha256)
        )
        return found[0] if found else None

    def for_holder(
        self,
        holder_type: str,
        holder_value: str,
        application_id: str | None,
        *,
        only_valid: bool = False,
        now: dt.datetime | None = None,
    ) -> list[CertificateRecord]:
        """Certificates of one holder, newest first.

        ``application_id=None`` means the holder *without* an application id: a holder
        with an application id is a different holder. With ``only_valid``, only
        certificates not revoked and inside their validity at ``now`` are returned.
        """
        statement = select(CertificateRow).where(
            CertificateRow.holder_type == holder_type,
            CertificateRow.holder_value == holder_value,
            CertificateRow.application_id.is_(None)
            if application_id is None
            else CertificateRow.application_id == application_id,
        )
        if only_valid:
            if now is None:
                raise ValueError("only_valid needs now: validity depends on the time")
            moment = require_aware(now, "now")
            statement = statement.where(
                CertificateRow.status == "valid",
                CertificateRow.not_before <= moment,
                CertificateRow.not_after >= moment,
            )
        return self._records(
            statement.order_by(CertificateRow.not_after.desc(), CertificateRow.id.desc())
        )

    def application_ids_for(self, holder_type: str, holder_value: str) -> list[str | None]:
        """The application ids under which a holder has certificates.

        ``None`` (listed first when present) stands for certificates without one.
        """
        values = self._session.scalars(
            select(CertificateRow.application_id)
            .where(
                CertificateRow.holder_type == holder_type,
                CertificateRow.holder_value == holder_value,
            )
            .distinct()
        ).all()
        named = sorted(value for value in values if value is not None)
        return ([None] if None in values else []) + list(named)

    def revoked(
        self, environment: str, *, not_expired_at: dt.datetime | None = None
    ) -> list[RevokedEntry]:
        """Revoked certificates of an environment, for a CRL, oldest revocation first.

        With ``not_expired_at``, certificates that expired before it are left out. RFC 5280
        section 3.3 lets a CRL drop an entry only after it appeared on one regularly
        scheduled CRL issued beyond the certificate's validity, so pass the previous
        CRL's thisUpdate, not the current time.
        """
        if environment not in ENVIRONMENTS:
            raise ValueError(f"environment must be one of {ENVIRONMENTS}")
        statement = select(
            CertificateRow.serial_hex,
            CertificateRow.revoked_at,
            CertificateRow.revocation_reason,
            CertificateRow.not_after,
        ).where(CertificateRow.environment == environment, CertificateRow.status == "revoked")
        if not_expired_at is not None:
            statement = statement.where(
                CertificateRow.not_after >= require_aware(not_expired_at, "not_expired_at")
            )
        entries: list[RevokedEntry] = []
        for serial_hex, revoked_at, reason, not_after in self._session.execute(
            statement.order_by(CertificateRow.revoked_at, CertificateRow.serial_hex)
        ):
            if revoked_at is None or reason is None:  # excluded by a CHECK constraint
                raise AssertionError(f"revoked certificate {serial_hex} lacks date or reason")
            entries.append(RevokedEntry(serial_hex, revoked_at, reason, not_after))
        return entries


class CertificateRepository(CertificateReader):
    """Reads plus the two writes: record an issued certificate, revoke one."""

    def add(self, certificate: NewCertificate) -> CertificateRecord:
        if not isinstance(certificate, NewCertificate):
            raise TypeError("add expects a NewCertificate")
        values = {
            "serial_hex": certificate.serial_hex,
            "environment": certificate.environment,
            "usage": certificate.usage,
            "holder_type": certificate.holder_type,
            "holder_value": certificate.holder_value,
            "application_id": certificate.application_id,
            "subject_dn": certificate.subject_dn,
            "not_before": certificate.not_before,
            "not_after": certificate.not_after,
            "status": "valid",
            "der": certificate.der,
            "public_key_sha256": certificate.public_key_sha256,
            "requested_by_ssin": certificate.requested_by_ssin,
            "predecessor_serial_hex": certificate.predecessor_serial_hex,
            "created_at": certificate.created_at,
            "digital_key": certificate.digital_key,
        }
        try:
            self._session.connection().execute(insert(CertificateRow).values(**values))
        except IntegrityError as error:
            refusal = _refusal_for(error, certificate)
            if refusal is None:
                raise  # a CHECK constraint: NewCertificate validation missed something
            raise refusal from error
        # What was just inserted, without reading it back: a new row is valid, unrevoked.
        return CertificateRecord(
            serial_hex=certificate.serial_hex,
            environment=certificate.environment,
            usage=certificate.usage,
            holder_type=certificate.holder_type,
            holder_value=certificate.holder_value,
            application_id=certificate.application_id,
            subject_dn=certificate.subject_dn,
            not_before=certificate.not_before,
            not_after=certificate.not_after,
            status="valid",
            revoked_at=None,
            revocation_reason=None,
            revoked_by=None,
            der=certificate.der,
            public_key_sha256=certificate.public_key_sha256,
            requested_by_ssin=certificate.requested_by_ssin,
            predecessor_serial_hex=certificate.predecessor_serial_hex,
            created_at=certificate.created_at,
            digital_key=certificate.digital_key,
        )

    def revoke(self, serial_hex: str, reason: str, at: dt.datetime, by: str) -> CertificateRecord:
        """Mark a certificate revoked; refuse (CONFLICT) if it already is.

        The conditional UPDATE makes concurrent revocations safe: exactly one of them
        changes the row. The OCSP cache entry is dropped in the same transaction.
        """
        check_serial_hex(serial_hex)
        check_revocation_reason(reason)
        moment = require_aware(at, "at")
        result = self._session.execute(
            update(CertificateRow)
            .where(CertificateRow.serial_hex == serial_hex, CertificateRow.status == "valid")
            .values(status="revoked", revoked_at=moment, revocation_reason=reason, revoked_by=by)
            .execution_options(synchronize_session=False)
        )
        if affected_rows(result) != 1:
            existing = self.by_serial(serial_hex)
            if existing is None:
                raise EhcertError(
                    ErrorKind.NOT_FOUND,
                    f"No certificate has serial number {serial_hex}.",
                    field="serial",
                )
            when = existing.revoked_at.isoformat() if existing.revoked_at else "earlier"
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"Certificate {serial_hex} was already revoked on {when}.",
                field="serial",
            )
        OcspCache(self._session).invalidate(serial_hex)
        revoked = self.by_serial(serial_hex)
        if revoked is None:  # pragma: no cover - the update above matched it
            raise AssertionError("revoked certificate not found")
        return revoked


def _refusal_for(error: IntegrityError, certificate: NewCertificate) -> EhcertError | None:
    violated = violated_constraint(error)
    if "public_key_sha256" in violated:
        return EhcertError(
            ErrorKind.CONFLICT,
            "This public key is already certified; every certificate needs a new key.",
            field="public_key",
        )
    if "serial_hex" in violated and "predecessor" not in violated:
        return EhcertError(
            ErrorKind.CONFLICT,
            f"A certificate with serial number {certificate.serial_hex} already exists.",
            field="serial",
        )
    if "predecessor" in violated and ("unique" in violated or violated.startswith("ix_")):
        return EhcertError(
            ErrorKind.CONFLICT,
            f"Certificate {certificate.predecessor_serial_hex} has already been renewed; "
            "renew its successor, or make a new request with your eID.",
            field="serial",
        )
    if "predecessor" in violated or "foreign key" in violated:
        return EhcertError(
            ErrorKind.NOT_FOUND,
            f"The predecessor certificate {certificate.predecessor_serial_hex} is not known.",
            field="predecessor_serial_hex",
        )
    return None

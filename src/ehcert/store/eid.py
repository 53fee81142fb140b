"""Test eID certificates issued by the acceptance citizen CA (never used in production).

The acceptance environment needs citizens to sign with; the platform issues them test eID
certificates and must answer for their status like the real citizen CA would (revocation
reason and date per RFC 5280 section 5.3.1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Ssin
from ehcert.store.certificates import check_revocation_reason, check_serial_hex
from ehcert.store.columns import require_aware
from ehcert.store.db import affected_rows
from ehcert.store.models import EidCredentialRow
from ehcert.store.ocsp_cache import OcspCache


@dataclass(frozen=True, slots=True)
class EidCredential:
    serial_hex: str
    ssin: str
    not_after: dt.datetime
    revoked_at: dt.datetime | None
    revocation_reason: str | None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def from_row(cls, row: EidCredentialRow) -> EidCredential:
        return cls(row.serial_hex, row.ssin, row.not_after, row.revoked_at, row.revocation_reason)


class EidRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, serial_hex: str, ssin: str, not_after: dt.datetime) -> EidCredential:
        check_serial_hex(serial_hex)
        Ssin(ssin)
        expires = require_aware(not_after, "not_after")
        try:
            self._session.connection().execute(
                insert(EidCredentialRow).values(serial_hex=serial_hex, ssin=ssin, not_after=expires)
            )
        except IntegrityError as error:
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"A test eID with serial number {serial_hex} already exists.",
                field="serial",
            ) from error
        return EidCredential(serial_hex, ssin, expires, None, None)

    def by_serial(self, serial_hex: str) -> EidCredential | None:
        row = self._session.scalars(
            select(EidCredentialRow)
            .where(EidCredentialRow.serial_hex == serial_hex)
            .execution_options(populate_existing=True)
        ).one_or_none()
        return None if row is None else EidCredential.from_row(row)

    def for_ssin(self, ssin: str) -> list[EidCredential]:
        """Every test eID of a person, latest expiry first."""
        rows = self._session.scalars(
            select(EidCredentialRow)
            .where(EidCredentialRow.ssin == ssin)
            .order_by(EidCredentialRow.not_after.desc(), EidCredentialRow.serial_hex)
            .execution_options(populate_existing=True)
        )
        return [EidCredential.from_row(row) for row in rows]

    def revoked(self) -> list[EidCredential]:
        """Every revoked test eID, oldest revocation first: the test citizen CA's CRL."""
        rows = self._session.scalars(
            select(EidCredentialRow)
            .where(EidCredentialRow.revoked_at.is_not(None))
            .order_by(EidCredentialRow.revoked_at, EidCredentialRow.serial_hex)
        )
        return [EidCredential.from_row(row) for row in rows]

    def revoke(self, serial_hex: str, reason: str, at: dt.datetime) -> EidCredential:
        """Revoke once; NOT_FOUND for an unknown serial, CONFLICT if already revoked."""
        check_serial_hex(serial_hex)
        check_revocation_reason(reason)
        result = self._session.execute(
            update(EidCredentialRow)
            .where(EidCredentialRow.serial_hex == serial_hex, EidCredentialRow.revoked_at.is_(None))
            .values(revoked_at=require_aware(at, "at"), revocation_reason=reason)
            .execution_options(synchronize_session=False)
        )
        if affected_rows(result) != 1:
            if self.by_serial(serial_hex) is None:
                raise EhcertError(
                    ErrorKind.NOT_FOUND,
                    f"No test eID has serial number {serial_hex}.",
                    field="serial",
                )
            raise EhcertError(
                ErrorKind.CONFLICT, f"Test eID {serial_hex} is already revoked.", field="serial"
            )
        OcspCache(self._session).invalidate(serial_hex)
        revoked = self.by_serial(serial_hex)
        if revoked is None:  # pragma: no cover - the update above matched it
            raise AssertionError("revoked eID not found")
        return revoked

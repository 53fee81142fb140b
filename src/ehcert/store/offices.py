"""Registration offices, their officers and the identity checks they record.

The hybrid method (docs/foreign-providers.md): a person without a Belgian eID shows an
identity document at a registration office; an officer records what was seen. The store
keeps offices, officers (one account per SSIN; an ended account stays as history) and
each check, and hands back frozen records, never ORM rows. Which checks are acceptable
(document types, expiry) is the registry's call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.store.columns import require_aware
from ehcert.store.db import affected_rows, insert_unless_taken
from ehcert.store.models import IdentityCheckRow, OfficerRow, RegistrationOfficeRow


@dataclass(frozen=True, slots=True)
class OfficeRecord:
    code: str
    name: str
    kind: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class OfficerRecord:
    ssin: str
    first_name: str
    last_name: str
    office_code: str
    office_name: str
    added_at: dt.datetime
    ended_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True, slots=True)
class NewIdentityCheck:
    ssin: str
    document_type: str
    document_number: str
    issuing_country: str
    document_expiry: dt.date
    officer_ssin: str
    office_code: str
    checked_at: dt.datetime


@dataclass(frozen=True, slots=True)
class IdentityCheckRecord:
    id: int
    ssin: str
    document_type: str
    document_number: str
    issuing_country: str
    document_expiry: dt.date
    officer_ssin: str
    office_code: str
    checked_at: dt.datetime


def _office_missing(code: str) -> EhcertError:
    return EhcertError(
        ErrorKind.NOT_FOUND, f"No registration office with code {code} exists.", field="office"
    )


class OfficeRepository:
    """Reads and writes of offices, officers and identity checks in the caller's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # -- offices -----------------------------------------------------------------------

    def add_office(self, code: str, name: str, kind: str, now: dt.datetime) -> OfficeRecord:
        """CONFLICT when the code is taken."""
        values = {"code": code, "name": name, "kind": kind, "created_at": require_aware(now)}
        if insert_unless_taken(self._session, RegistrationOfficeRow, values) is not None:
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"A registration office with code {code} already exists.",
                field="code",
            )
        found = self.office(code)
        assert found is not None
        return found

    def office(self, code: str) -> OfficeRecord | None:
        row = self._session.scalars(
            select(RegistrationOfficeRow).where(RegistrationOfficeRow.code == code)
        ).first()
        if row is None:
            return None
        return OfficeRecord(row.code, row.name, row.kind, row.created_at)

    def offices(self) -> list[OfficeRecord]:
        rows = self._session.scalars(
            select(RegistrationOfficeRow).order_by(RegistrationOfficeRow.code)
        )
        return [OfficeRecord(r.code, r.name, r.kind, r.created_at) for r in rows]

    def _office_id(self, code: str) -> int:
        found = self._session.scalar(
            select(RegistrationOfficeRow.id).where(RegistrationOfficeRow.code == code)
        )
        if found is None:
            raise _office_missing(code)
        return int(found)

    # -- officers ----------------------------------------------------------------------

    def add_officer(
        self, ssin: str, first_name: str, last_name: str, office_code: str, now: dt.datetime
    ) -> OfficerRecord:
        """CONFLICT when the SSIN already has an officer account (active or ended)."""
        values = {
            "ssin": ssin,
            "first_name": first_name,
            "last_name": last_name,
            "office_id": self._office_id(office_code),
            "added_at": require_aware(now),
            "ended_at": None,
        }
        if insert_unless_taken(self._session, OfficerRow, values) is not None:
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"SSIN {ssin} already has an officer account.",
                field="ssin",
            )
        found = self.officer(ssin)
        assert found is not None
        return found

    def officer(self, ssin: str) -> OfficerRecord | None:
        row = self._session.execute(
            select(OfficerRow, RegistrationOfficeRow)
            .join(RegistrationOfficeRow, OfficerRow.office_id == RegistrationOfficeRow.id)
            .where(OfficerRow.ssin == ssin)
        ).first()
        if row is None:
            return None
        officer, office = row
        return OfficerRecord(
            officer.ssin,
            officer.first_name,
            officer.last_name,
            office.code,
            office.name,
            officer.added_at,
            officer.ended_at,
        )

    def end_officer(self, ssin: str, now: dt.datetime) -> OfficerRecord:
        """End an active officer account; NOT_FOUND when there is none."""
        result = self._session.execute(
            update(OfficerRow)
            .where(OfficerRow.ssin == ssin, OfficerRow.ended_at.is_(None))
            .values(ended_at=require_aware(now))
        )
        if affected_rows(result) != 1:
            raise EhcertError(
                ErrorKind.NOT_FOUND, f"SSIN {ssin} has no active officer account.", field="ssin"
            )
        found = self.officer(ssin)
        assert found is not None
        return found

    # -- identity checks ---------------------------------------------------------------

    def record_check(self, check: NewIdentityCheck) -> IdentityCheckRecord:
        values = {
            "ssin": check.ssin,
            "document_type": check.document_type,
            "document_number": check.document_number,
            "issuing_country": check.issuing_country,
            "document_expiry": check.document_expiry,
            "officer_ssin": check.officer_ssin,
            "office_id": self._office_id(check.office_code),
            "checked_at": require_aware(check.checked_at),
        }
        new_id = self._session.execute(
            insert(IdentityCheckRow).values(**values).returning(IdentityCheckRow.id)
        ).scalar_one()
        return IdentityCheckRecord(
            int(new_id),
            check.ssin,
            check.document_type,
            check.document_number,
            check.issuing_country,
            check.document_expiry,
            check.officer_ssin,
            check.office_code,
            require_aware(check.checked_at),
        )

    def checks_for(self, ssin: str) -> list[IdentityCheckRecord]:
        """Every identity check of ``ssin``, oldest first."""
        rows = self._session.execute(
            select(IdentityCheckRow, RegistrationOfficeRow.code)
            .join(RegistrationOfficeRow, IdentityCheckRow.office_id == RegistrationOfficeRow.id)
            .where(IdentityCheckRow.ssin == ssin)
            .order_by(IdentityCheckRow.id)
        )
        return [
            IdentityCheckRecord(
                row.id,
                row.ssin,
                row.document_type,
                row.document_number,
                row.issuing_country,
                row.document_expiry,
                row.officer_ssin,
                code,
                row.checked_at,
            )
            for row, code in rows
        ]

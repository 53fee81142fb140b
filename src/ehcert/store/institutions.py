"""Care institutions and the mandates that let a person act for one.

A mandate is active at a moment ``at`` when ``valid_from <= at``, ``at < valid_until``
(when set) and ``at < ended_at`` (when set): the same predicate answers "is it active
now?" and "was it active when that certificate was requested?". Ended mandates stay as
history; at most one mandate per institution and person is open (not ended), which a
partial unique index guarantees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import InstitutionId
from ehcert.store.columns import require_aware
from ehcert.store.db import affected_rows, violated_constraint
from ehcert.store.models import InstitutionRow, MandateRow

UPDATABLE_FIELDS = frozenset({"name", "security_norms_date", "data_sharing_authorisation"})


@dataclass(frozen=True, slots=True)
class InstitutionRecord:
    institution: InstitutionId
    name: str
    security_norms_date: dt.date | None
    data_sharing_authorisation: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: InstitutionRow) -> InstitutionRecord:
        return cls(
            InstitutionId(row.id_type, row.id_value),
            row.name,
            row.security_norms_date,
            row.data_sharing_authorisation,
            row.created_at,
            row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class MandateRecord:
    institution: InstitutionId
    holder_ssin: str
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    ended_at: dt.datetime | None
    created_at: dt.datetime

    def is_active_at(self, at: dt.datetime) -> bool:
        return (
            self.valid_from <= at
            and (self.valid_until is None or at < self.valid_until)
            and (self.ended_at is None or at < self.ended_at)
        )


def _active_at(at: dt.datetime) -> ColumnElement[bool]:
    moment = require_aware(at, "at")
    return and_(
        MandateRow.valid_from <= moment,
        or_(MandateRow.valid_until.is_(None), MandateRow.valid_until > moment),
        or_(MandateRow.ended_at.is_(None), MandateRow.ended_at > moment),
    )


def _is(institution: InstitutionId) -> ColumnElement[bool]:
    return and_(
        InstitutionRow.id_type == institution.type, InstitutionRow.id_value == institution.value
    )


class InstitutionRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, institution: InstitutionId) -> InstitutionRecord | None:
        row = self._session.scalars(
            select(InstitutionRow).where(_is(institution)).execution_options(populate_existing=True)
        ).one_or_none()
        return None if row is None else InstitutionRecord.from_row(row)

    def add(
        self,
        institution: InstitutionId,
        name: str,
        security_norms_date: dt.date | None,
        data_sharing_authorisation: str | None,
        now: dt.datetime,
    ) -> InstitutionRecord:
        """Insert an institution; CONFLICT if its identifier is already registered."""
        moment = require_aware(now, "now")
        try:
            self._session.connection().execute(
                insert(InstitutionRow).values(
                    id_type=institution.type,
                    id_value=institution.value,
                    name=name,
                    security_norms_date=security_norms_date,
                    data_sharing_authorisation=data_sharing_authorisation,
                    created_at=moment,
                    updated_at=moment,
                )
            )
        except IntegrityError as error:
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"Institution {institution} is already registered.",
                field="institution",
            ) from error
        return InstitutionRecord(
            institution, name, security_norms_date, data_sharing_authorisation, moment, moment
        )

    def update(
        self, institution: InstitutionId, changes: Mapping[str, object], now: dt.datetime
    ) -> InstitutionRecord | None:
        """Apply ``changes``; None if the institution is not registered."""
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"cannot update institution fields {sorted(unknown)}")
        result = self._session.execute(
            update(InstitutionRow)
            .where(_is(institution))
            .values({**changes, "updated_at": require_aware(now, "now")})
            .execution_options(synchronize_session=False)
        )
        if affected_rows(result) != 1:
            return None
        return self.get(institution)


class MandateRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def _institution_pk(self, institution: InstitutionId) -> int | None:
        return self._session.scalar(select(InstitutionRow.id).where(_is(institution)))

    def add(
        self,
        institution: InstitutionId,
        holder_ssin: str,
        valid_from: dt.datetime,
        valid_until: dt.datetime | None,
        now: dt.datetime,
    ) -> MandateRecord | None:
        """Open a mandate; None if the institution is unknown, CONFLICT if one is open."""
        pk = self._institution_pk(institution)
        if pk is None:
            return None
        start = require_aware(valid_from, "valid_from")
        end = None if valid_until is None else require_aware(valid_until, "valid_until")
        created = require_aware(now, "now")
        try:
            self._session.connection().execute(
                insert(MandateRow).values(
                    institution_id=pk,
                    holder_ssin=holder_ssin,
                    valid_from=start,
                    valid_until=end,
                    ended_at=None,
                    created_at=created,
                )
            )
        except IntegrityError as error:
            violated = violated_constraint(error)
            if "holder_ssin" not in violated or "length" in violated:
                raise
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"SSIN {holder_ssin} already holds an open mandate for {institution};"
                " end it before adding another.",
                field="holder_ssin",
            ) from error
        return MandateRecord(institution, holder_ssin, start, end, None, created)

    def open_mandate(self, institution: InstitutionId, holder_ssin: str) -> MandateRecord | None:
        found = self.history(institution, holder_ssin)
        return next((mandate for mandate in found if mandate.ended_at is None), None)

    def end(self, institution: InstitutionId, holder_ssin: str, at: dt.datetime) -> bool:
        """Set ``ended_at`` on the open mandate; False if there is none."""
        pk = self._institution_pk(institution)
        if pk is None:
            return False
        result = self._session.execute(
            update(MandateRow)
            .where(
                MandateRow.institution_id == pk,
                MandateRow.holder_ssin == holder_ssin,
                MandateRow.ended_at.is_(None),
            )
            .values(ended_at=require_aware(at, "at"))
            .execution_options(synchronize_session=False)
        )
        return affected_rows(result) == 1

    def history(self, institution: InstitutionId, holder_ssin: str) -> list[MandateRecord]:
        """Every mandate of a person for an institution, newest first."""
        rows = self._session.execute(
            select(MandateRow, InstitutionRow.id_type, InstitutionRow.id_value)
            .join(InstitutionRow, InstitutionRow.id == MandateRow.institution_id)
            .where(_is(institution), MandateRow.holder_ssin == holder_ssin)
            .order_by(MandateRow.valid_from.desc(), MandateRow.id.desc())
            .execution_options(populate_existing=True)
        )
        return [_mandate(row, id_type, id_value) for row, id_type, id_value in rows]

    def is_active(self, institution: InstitutionId, holder_ssin: str, at: dt.datetime) -> bool:
        found = self._session.scalar(
            select(MandateRow.id)
            .join(InstitutionRow, InstitutionRow.id == MandateRow.institution_id)
            .where(_is(institution), MandateRow.holder_ssin == holder_ssin, _active_at(at))
            .limit(1)
        )
        return found is not None

    def active_institutions_for(self, holder_ssin: str, at: dt.datetime) -> list[InstitutionRecord]:
        """Institutions for which ``holder_ssin`` holds an active mandate at ``at``."""
        rows = self._session.scalars(
            select(InstitutionRow)
            .join(MandateRow, InstitutionRow.id == MandateRow.institution_id)
            .where(MandateRow.holder_ssin == holder_ssin, _active_at(at))
            .distinct()
            .order_by(InstitutionRow.id_type, InstitutionRow.id_value)
            .execution_options(populate_existing=True)
        )
        return [InstitutionRecord.from_row(row) for row in rows]


def _mandate(row: MandateRow, id_type: str, id_value: str) -> MandateRecord:
    return MandateRecord(
        InstitutionId(id_type, id_value),
        row.holder_ssin,
        row.valid_from,
        row.valid_until,
        row.ended_at,
        row.created_at,
    )

"""The integrators' test identities: providers, institutions and mandates they own.

Test data lives in the registry's own tables (``providers``, ``institutions``,
``mandates``), so every service reads it exactly as it reads real data; what marks it
is ``test_owner_cbe``, the CBE number of the integrator who made it (NULL for the
authentic source's own rows). Each row is written by the registry's repositories, so
the conflicts they refuse (an SSIN or an institution registered already, an open
mandate twice) are refused here alike, and then marked in the same transaction.
Which numbers an integrator may use and who may touch what is the registry's rule
(``registry.test_identities``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from ehcert.core.identifiers import InstitutionId, Profession
from ehcert.store.institutions import InstitutionRepository, MandateRepository
from ehcert.store.models import InstitutionRow, MandateRow, ProviderRow
from ehcert.store.providers import ProviderData, ProviderRepository, ProviderStatus


@dataclass(frozen=True, slots=True)
class OwnedPerson:
    """A test care provider (always ``validated``: it exists to get certificates)."""

    ssin: str
    first_name: str
    last_name: str
    profession: str
    owner_cbe: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class OwnedInstitution:
    institution: InstitutionId
    name: str
    owner_cbe: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class OwnedMandate:
    institution: InstitutionId
    holder_ssin: str
    owner_cbe: str
    valid_from: dt.datetime
    ended_at: dt.datetime | None


class IntegratorTestData:
    """Reads and writes of test identities in the caller's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_person(
        self,
        owner_cbe: str,
        ssin: str,
        first_name: str,
        last_name: str,
        profession: Profession,
        *,
        now: dt.datetime,
    ) -> OwnedPerson:
        data = ProviderData(ssin, None, profession, first_name, last_name, ProviderStatus.VALIDATED)
        ProviderRepository(self._session).add(data, now)
        self._session.execute(
            update(ProviderRow).where(ProviderRow.ssin == ssin).values(test_owner_cbe=owner_cbe)
        )
        return OwnedPerson(ssin, first_name, last_name, profession.value, owner_cbe, now)

    def add_institution(
        self,
        owner_cbe: str,
        institution: InstitutionId,
        name: str,
        *,
        attested_on: dt.date,
        authorisation: str,
        now: dt.datetime,
    ) -> OwnedInstitution:
        """A test institution with both attestations on record (a test institution exists
        to get certificates, which need them: ``ra.service``)."""
        InstitutionRepository(self._session).add(institution, name, attested_on, authorisation, now)
        self._session.execute(
            update(InstitutionRow)
            .where(
                and_(
                    InstitutionRow.id_type == institution.type,
                    InstitutionRow.id_value == institution.value,
                )
            )
            .values(test_owner_cbe=owner_cbe)
        )
        return OwnedInstitution(institution, name, owner_cbe, now)

    def add_mandate(
        self, owner_cbe: str, institution: InstitutionId, holder_ssin: str, now: dt.datetime
    ) -> OwnedMandate | None:
        """An open mandate from ``now``; None if the institution is unknown."""
        opened = MandateRepository(self._session).add(institution, holder_ssin, now, None, now)
        if opened is None:
            return None
        pk = self._institution_pk(institution)
        self._session.execute(
            update(MandateRow)
            .where(
                MandateRow.institution_id == pk,
                MandateRow.holder_ssin == holder_ssin,
                MandateRow.ended_at.is_(None),
            )
            .values(test_owner_cbe=owner_cbe)
        )
        return OwnedMandate(institution, holder_ssin, owner_cbe, now, None)

    def _institution_pk(self, institution: InstitutionId) -> int | None:
        return self._session.scalar(
            select(InstitutionRow.id).where(
                InstitutionRow.id_type == institution.type,
                InstitutionRow.id_value == institution.value,
            )
        )

    # -- whose is it ---------------------------------------------------------------------

    def person_exists(self, ssin: str) -> bool:
        return (
            self._session.scalar(select(ProviderRow.id).where(ProviderRow.ssin == ssin)) is not None
        )

    def institution_exists(self, institution: InstitutionId) -> bool:
        return self._institution_pk(institution) is not None

    def person_owner(self, ssin: str) -> str | None:
        """The CBE of the integrator owning this provider; None for real data or none."""
        return self._session.scalar(
            select(ProviderRow.test_owner_cbe).where(ProviderRow.ssin == ssin)
        )

    def institution_owner(self, institution: InstitutionId) -> str | None:
        return self._session.scalar(
            select(InstitutionRow.test_owner_cbe).where(
                InstitutionRow.id_type == institution.type,
                InstitutionRow.id_value == institution.value,
            )
        )

    # -- listings ------------------------------------------------------------------------

    def people(self, owner_cbe: str) -> list[OwnedPerson]:
        rows = self._session.scalars(
            select(ProviderRow)
            .where(ProviderRow.test_owner_cbe == owner_cbe)
            .order_by(ProviderRow.ssin)
        )
        return [
            OwnedPerson(
                row.ssin, row.first_name, row.last_name, row.profession, owner_cbe, row.created_at
            )
            for row in rows
        ]

    def institutions(self, owner_cbe: str) -> list[OwnedInstitution]:
        rows = self._session.scalars(
            select(InstitutionRow)
            .where(InstitutionRow.test_owner_cbe == owner_cbe)
            .order_by(InstitutionRow.id_type, InstitutionRow.id_value)
        )
        return [
            OwnedInstitution(
                InstitutionId(row.id_type, row.id_value), row.name, owner_cbe, row.created_at
            )
            for row in rows
        ]

    def mandates(self, owner_cbe: str) -> list[OwnedMandate]:
        rows = self._session.execute(
            select(MandateRow, InstitutionRow.id_type, InstitutionRow.id_value)
            .join(InstitutionRow, InstitutionRow.id == MandateRow.institution_id)
            .where(MandateRow.test_owner_cbe == owner_cbe)
            .order_by(InstitutionRow.id_type, InstitutionRow.id_value, MandateRow.holder_ssin)
        )
        return [
            OwnedMandate(
                InstitutionId(id_type, id_value),
                row.holder_ssin,
                owner_cbe,
                row.valid_from,
                row.ended_at,
            )
            for row, id_type, id_value in rows
        ]

"""The authentic source: care providers, care institutions and mandates.

The registry records who exists and in which state; it decides nothing about certificates
(the RA does, DESIGN.md "security contexts"). What it does guarantee:

- every value is validated before it is stored, and a refusal is one
  ``EhcertError(MALFORMED | NOT_FOUND | CONFLICT, sentence, field=...)``;
- every write and its audit record (action ``registry``) commit together or not at all;
- withdrawal and the end of a mandate are visible at once (``ProviderRecord.status``,
  ``withdrawn_at``, :meth:`RegistryService.mandates_of`), so the RA can refuse right away
  and say since when.

Time comes in as ``now``/``at`` (DESIGN.md: no hidden clocks).
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Final

from sqlalchemy.orm import Session

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import InstitutionId, Nihii, Profession, Ssin
from ehcert.registry.validation import (
    MAX_AUTHORISATION,
    MAX_INSTITUTION_NAME,
    MAX_PERSON_NAME,
    parse_institution,
    parse_nihii,
    parse_optional_date,
    parse_profession,
    parse_real_ssin,
    parse_ssin,
    parse_status,
    parse_text,
)
from ehcert.store.audit import AuditLog, JsonValue
from ehcert.store.columns import require_aware
from ehcert.store.db import Database
from ehcert.store.institutions import (
    InstitutionRecord,
    InstitutionRepository,
    MandateRecord,
    MandateRepository,
)
from ehcert.store.providers import ProviderData, ProviderRecord, ProviderRepository, ProviderStatus

AUDIT_ACTION = "registry"
DEFAULT_ACTOR = "registry"


class Unchanged(Enum):
    """Marks a field that an update leaves alone (``None`` means "clear it")."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED


def _audit(
    session: Session, at: dt.datetime, actor: str, subject: str, detail: dict[str, JsonValue]
) -> None:
    AuditLog(session).append(at, AUDIT_ACTION, actor, subject, detail)


def _provider_missing(ssin: str) -> EhcertError:
    return EhcertError(
        ErrorKind.NOT_FOUND, f"No care provider with SSIN {ssin} is registered.", field="ssin"
    )


def _institution_missing(institution: InstitutionId) -> EhcertError:
    return EhcertError(
        ErrorKind.NOT_FOUND, f"Institution {institution} is not registered.", field="institution"
    )


class RegistryService:
    def __init__(self, database: Database) -> None:
        self._database = database

    # -- care providers -------------------------------------------------------------

    def add_provider(
        self,
        ssin: str | Ssin,
        nihii: str | Nihii | None,
        profession: str | Profession,
        first_name: str,
        last_name: str,
        *,
        status: str | ProviderStatus = ProviderStatus.VALIDATED,
        now: dt.datetime,
        actor: str = DEFAULT_ACTOR,
    ) -> ProviderRecord:
        """Register a care provider; CONFLICT if the SSIN or NIHII number is taken."""
        data = ProviderData(
            ssin=parse_real_ssin(ssin),
            nihii=parse_nihii(nihii),
            profession=parse_profession(profession),
            first_name=parse_text(first_name, "first_name", "first name", MAX_PERSON_NAME),
            last_name=parse_text(last_name, "last_name", "last name", MAX_PERSON_NAME),
            status=parse_status(status),
        )
        moment = require_aware(now, "now")
        with self._database.session() as session:
            record = ProviderRepository(session).add(data, moment)
            _audit(
                session,
                moment,
                actor,
                f"SSIN={data.ssin}",
                {"op": "add-provider", "status": data.status.value},
            )
        return record

    def update_provider(
        self,
        ssin: str | Ssin,
        *,
        nihii: str | Nihii | Unchanged | None = UNCHANGED,
        profession: str | Profession | Unchanged = UNCHANGED,
        first_name: str | Unchanged = UNCHANGED,
        last_name: str | Unchanged = UNCHANGED,
        status: str | ProviderStatus | Unchanged = UNCHANGED,
        now: dt.datetime,
        actor: str = DEFAULT_ACTOR,
    ) -> ProviderRecord:
        """Change some fields of a provider; fields left ``UNCHANGED`` stay as they are.

        Setting ``status`` to ``withdrawn`` records the moment; any other status clears
        it (reinstatement).
        """
        key = parse_ssin(ssin)
        changes: dict[str, str | None] = {}
        if not isinstance(nihii, Unchanged):
            changes["nihii"] = parse_nihii(nihii)
        if not isinstance(profession, Unchanged):
            changes["profession"] = parse_profession(profession).value
        if not isinstance(first_name, Unchanged):
            changes["first_name"] = parse_text(
                first_name, "first_name", "first name", MAX_PERSON_NAME
            )
        if not isinstance(last_name, Unchanged):
            changes["last_name"] = parse_text(last_name, "last_name", "last name", MAX_PERSON_NAME)
        if not isinstance(status, Unchanged):
            changes["status"] = parse_status(status).value
        moment = require_aware(now, "now")
        with self._database.session() as session:
            repository = ProviderRepository(session)
            current = repository.by_ssin(key)
            if current is None:
                raise _provider_missing(key)
            if not changes:
                return current
            updated = repository.update(key, changes, moment)
            if updated is None:  # pragma: no cover - read just above in this transaction
                raise _provider_missing(key)
            _audit(
                session,
                moment,
                actor,
                f"SSIN={key}",
                {"op": "update-provider", "fields": [*sorted(changes)], "status": updated.status},
            )
        return updated

    def withdraw_provider(
        self, ssin: str | Ssin, now: dt.datetime, *, actor: str = DEFAULT_ACTOR
    ) -> ProviderRecord:
        """Mark a provider withdrawn (no new certificates); CONFLICT if already so."""
        key = parse_ssin(ssin)
        moment = require_aware(now, "now")
        with self._database.session() as session:
            repository = ProviderRepository(session)
            current = repository.by_ssin(key)
            if current is None:
                raise _provider_missing(key)
            if current.withdrawn_at is not None:
                raise EhcertError(
                    ErrorKind.CONFLICT,
                    f"Provider {key} was already withdrawn on {current.withdrawn_at.isoformat()}.",
                    field="ssin",
                )
            updated = repository.update(key, {"status": ProviderStatus.WITHDRAWN.value}, moment)
            if updated is None:  # pragma: no cover - read just above in this transaction
                raise _provider_missing(key)
            _audit(session, moment, actor, f"SSIN={key}", {"op": "withdraw-provider"})
        return updated

    def find_provider(self, ssin: str | Ssin) -> ProviderRecord | None:
        key = parse_ssin(ssin)
        with self._database.session() as session:
            return ProviderRepository(session).by_ssin(key)

    def get_provider(self, ssin: str | Ssin) -> ProviderRecord:
        """The provider with this SSIN; NOT_FOUND if the registry does not know them."""
        record = self.find_provider(ssin)
        if record is None:
            raise _provider_missing(parse_ssin(ssin))
        return record

    # -- care institutions ----------------------------------------------------------

    def add_institution(
        self,
        institution: InstitutionId | str,
        name: str,
        security_norms_date: dt.date | None = None,
        data_sharing_authorisation: str | None = None,
        *,
        now: dt.datetime,
        actor: str = DEFAULT_ACTOR,
    ) -> InstitutionRecord:
        """Register an institution; CONFLICT if its identifier is already registered."""
        key = parse_institution(institution)
        clean_name = parse_text(name, "name", "institution name", MAX_INSTITUTION_NAME)
        norms = parse_optional_date(security_norms_date, "security_norms_date")
        authorisation = _optional_authorisation(data_sharing_authorisation)
        moment = require_aware(now, "now")
        with self._database.session() as session:
            record = InstitutionRepository(session).add(
                key, clean_name, norms, authorisation, moment
            )
            _audit(session, moment, actor, str(key), {"op": "add-institution"})
        return record

    def update_institution(
        self,
        institution: InstitutionId | str,
        *,
        name: str | Unchanged = UNCHANGED,
        security_norms_date: dt.date | Unchanged | None = UNCHANGED,
        data_sharing_authorisation: str | Unchanged | None = UNCHANGED,
        now: dt.datetime,
        actor: str = DEFAULT_ACTOR,
    ) -> InstitutionRecord:
        key = parse_institution(institution)
        changes: dict[str, object] = {}
        if not isinstance(name, Unchanged):
            changes["name"] = parse_text(name, "name", "institution name", MAX_INSTITUTION_NAME)
        if not isinstance(security_norms_date, Unchanged):
            changes["security_norms_date"] = parse_optional_date(
                security_norms_date, "security_norms_date"
            )
        if not isinstance(data_sharing_authorisation, Unchanged):
            changes["data_sharing_authorisation"] = _optional_authorisation(
                data_sharing_authorisation
            )
        moment = require_aware(now, "now")
        with self._database.session() as session:
            repository = InstitutionRepository(session)
            if not changes:
                current = repository.get(key)
                if current is None:
                    raise _institution_missing(key)
                return current
            updated = repository.update(key, changes, moment)
            if updated is None:
                raise _institution_missing(key)
            _audit(
                session,
                moment,
                actor,
                str(key),
                {"op": "update-institution", "fields": [*sorted(changes)]},
            )
        return updated

    def find_institution(self, institution: InstitutionId | str) -> InstitutionRecord | None:
        key = parse_institution(institution)
        with self._database.session() as session:
            return InstitutionRepository(session).get(key)

    def get_institution(self, institution: InstitutionId | str) -> InstitutionRecord:
        key = parse_institution(institution)
        record = self.find_institution(key)
        if record is None:
            raise _institution_missing(key)
        return record

    # -- mandates ---------------------------------------------------------------------

    def add_mandate(
        self,
        institution: InstitutionId | str,
        holder_ssin: str | Ssin,
        valid_from: dt.datetime,
        valid_until: dt.datetime | None = None,
        *,
        now: dt.datetime,
        actor: str = DEFAULT_ACTOR,
    ) -> MandateRecord:
        """Give ``holder_ssin`` a mandate for ``institution`` (open-ended if no end).

        A person may hold mandates for several institutions, but only one open mandate
        per institution: CONFLICT while one is open, unless it has already run out, in
        which case it is closed at its ``valid_until`` first.
        """
        key = parse_institution(institution)
        holder = parse_ssin(holder_ssin, "holder_ssin")
        start = require_aware(valid_from, "valid_from")
        end = None if valid_until is None else require_aware(valid_until, "valid_until")
        if end is not None and end <= start:
            raise EhcertError(
                ErrorKind.MALFORMED,
                f"The mandate must end after it starts ({start.isoformat()}).",
                field="valid_until",
            )
        moment = require_aware(now, "now")
        with self._database.session() as session:
            mandates = MandateRepository(session)
            current = mandates.open_mandate(key, holder)
            if (
                current is not None
                and current.valid_until is not None
                and current.valid_until <= moment
            ):
                mandates.end(key, holder, current.valid_until)
            record = mandates.add(key, holder, start, end, moment)
            if record is None:
                raise _institution_missing(key)
            _audit(session, moment, actor, str(key), {"op": "add-mandate", "holder": holder})
        return record

    def end_mandate(
        self,
        institution: InstitutionId | str,
        holder_ssin: str | Ssin,
        at: dt.datetime,
        *,
        actor: str = DEFAULT_ACTOR,
    ) -> MandateRecord:
        """End the open mandate at ``at``; NOT_FOUND if there is none."""
        key = parse_institution(institution)
        holder = parse_ssin(holder_ssin, "holder_ssin")
        moment = require_aware(at, "at")
        with self._database.session() as session:
            mandates = MandateRepository(session)
            if not mandates.end(key, holder, moment):
                if InstitutionRepository(session).get(key) is None:
                    raise _institution_missing(key)
                raise EhcertError(
                    ErrorKind.NOT_FOUND,
                    f"SSIN {holder} holds no open mandate for {key}.",
                    field="holder_ssin",
                )
            _audit(session, moment, actor, str(key), {"op": "end-mandate", "holder": holder})
            history = mandates.history(key, holder)
        return next(mandate for mandate in history if mandate.ended_at == moment)

    def mandates_of(
        self, institution: InstitutionId | str, holder_ssin: str | Ssin
    ) -> list[MandateRecord]:
        """Every mandate (open and ended) of a person for an institution, newest first."""
        key = parse_institution(institution)
        holder = parse_ssin(holder_ssin, "holder_ssin")
        with self._database.session() as session:
            return MandateRepository(session).history(key, holder)

    def active_mandates_for(self, ssin: str | Ssin, at: dt.datetime) -> list[InstitutionRecord]:
        """The institutions ``ssin`` may act for at ``at``."""
        holder = parse_ssin(ssin)
        with self._database.session() as session:
            return MandateRepository(session).active_institutions_for(holder, at)

    def mandate_holder_is_active(
        self, institution: InstitutionId | str, ssin: str | Ssin, at: dt.datetime
    ) -> bool:
        key = parse_institution(institution)
        holder = parse_ssin(ssin)
        with self._database.session() as session:
            return MandateRepository(session).is_active(key, holder, at)


def _optional_authorisation(value: str | None) -> str | None:
    if value is None:
        return None
    return parse_text(
        value, "data_sharing_authorisation", "data sharing authorisation", MAX_AUTHORISATION
    )

"""The mailbox's ports bound to the store: the registry's facts within the request's
own transaction (a withdrawal or an ended mandate committed a moment ago is seen)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ehcert.core.identifiers import InstitutionId
from ehcert.ehbox.ports import PersonFacts
from ehcert.registry.adapter import RegistryFacts


class RegistryBoxDirectory:
    """Implements :class:`~ehcert.ehbox.ports.BoxDirectory` over the registry."""

    def __init__(self, session: Session) -> None:
        self._registry = RegistryFacts(session)

    def person(self, ssin: str) -> PersonFacts | None:
        found = self._registry.provider(ssin)
        if found is None:
            return None
        return PersonFacts(
            found.ssin, found.first_name, found.last_name, found.profession, found.status
        )

    def institution_name(self, institution: InstitutionId) -> str | None:
        found = self._registry.institution(institution)
        return None if found is None else found.name

    def mandated_institutions(self, ssin: str, at: dt.datetime) -> list[InstitutionId]:
        return self._registry.mandated_institutions(ssin, at)

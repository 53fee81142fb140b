"""The registry as the RA reads it: facts within the request's own transaction.

The RA decides on what the authentic source says *now*; reading through the request's
session means a withdrawal or an ended mandate committed a moment ago is already seen.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ehcert.core.identifiers import InstitutionId
from ehcert.ra.ports import InstitutionFacts, ProviderFacts
from ehcert.store.institutions import InstitutionRepository, MandateRepository
from ehcert.store.providers import ProviderRepository


class RegistryFacts:
    """Implements ``ra.ports.RegistryReader`` over the store's repositories."""

    def __init__(self, session: Session) -> None:
        self._providers = ProviderRepository(session)
        self._institutions = InstitutionRepository(session)
        self._mandates = MandateRepository(session)

    def provider(self, ssin: str) -> ProviderFacts | None:
        record = self._providers.by_ssin(ssin)
        if record is None:
            return None
        return ProviderFacts(
            ssin=record.ssin,
            first_name=record.first_name,
            last_name=record.last_name,
            profession=record.profession.value,
            status=record.status.value,
            nihii=record.nihii,
        )

    def ssin_for_nihii(self, nihii: str) -> str | None:
        """The SSIN of the care provider with this NIHII number (ETK lookup by NIHII)."""
        record = self._providers.by_nihii(nihii)
        return record.ssin if record is not None else None

    def institution(self, institution: InstitutionId) -> InstitutionFacts | None:
        record = self._institutions.get(institution)
        if record is None:
            return None
        return InstitutionFacts(
            institution=record.institution,
            name=record.name,
            security_norms_date=record.security_norms_date,
            data_sharing_authorisation=record.data_sharing_authorisation,
        )

    def mandate_active(self, institution: InstitutionId, ssin: str, at: dt.datetime) -> bool:
        return self._mandates.is_active(institution, ssin, at)

    def mandated_institutions(self, ssin: str, at: dt.datetime) -> list[InstitutionId]:
        return [r.institution for r in self._mandates.active_institutions_for(ssin, at)]

"""The registry as other contexts read it: facts within the request's own transaction.

The RA, the STS and the ETK depot decide on what the authentic source says *now*;
reading through the request's session means a withdrawal or an ended mandate committed
a moment ago is already seen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from ehcert.core.audit import AuditSink
from ehcert.core.documents import IdentityDocument
from ehcert.core.identifiers import InstitutionId
from ehcert.registry.facts import InstitutionFacts, OfficerFacts, ProviderFacts, RegistryReader
from ehcert.store.institutions import InstitutionRepository, MandateRepository
from ehcert.store.offices import NewIdentityCheck, OfficeRepository
from ehcert.store.providers import ProviderRepository
from ehcert.store.unit_of_work import Transactions

T = TypeVar("T")


class RegistryFacts:
    """Implements :class:`~ehcert.registry.facts.RegistryReader` over the store's repositories."""

    def __init__(self, session: Session) -> None:
        self._providers = ProviderRepository(session)
        self._institutions = InstitutionRepository(session)
        self._mandates = MandateRepository(session)
        self._offices = OfficeRepository(session)

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

    def officer(self, ssin: str) -> OfficerFacts | None:
        record = self._offices.officer(ssin)
        if record is None:
            return None
        return OfficerFacts(
            ssin=record.ssin,
            first_name=record.first_name,
            last_name=record.last_name,
            office_code=record.office_code,
            office_name=record.office_name,
            active=record.active,
        )

    def record_identity_check(
        self,
        ssin: str,
        document: IdentityDocument,
        officer: OfficerFacts,
        at: dt.datetime,
    ) -> int:
        """Record what the officer saw at their office; the check's id."""
        return self._offices.record_check(
            NewIdentityCheck(
                ssin=ssin,
                document_type=document.document_type,
                document_number=document.document_number,
                issuing_country=document.issuing_country,
                document_expiry=document.expiry,
                officer_ssin=officer.ssin,
                office_code=officer.office_code,
                checked_at=at,
            )
        ).id


class AuditedRegistryReads:
    """Units of work for a service that reads the registry and writes only audit records
    (the STS): ``work`` gets the registry and the audit trail of one transaction, and its
    refusals are audited after that transaction, in their own (``store.unit_of_work``)."""

    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions

    def __call__(self, work: Callable[[RegistryReader, AuditSink], T]) -> T:
        return self._transactions.audited(
            lambda session, audit: work(RegistryFacts(session), audit)
        )

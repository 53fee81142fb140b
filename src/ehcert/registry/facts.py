"""The registry's facts as other contexts read them: the authentic source's own types.

The RA, the STS and the ETK depot decide on what the registry says; they read it
through :class:`RegistryReader`, which :class:`~ehcert.registry.adapter.RegistryFacts`
implements over the store. These types belong to the registry, so the authentic source
depends on nothing that issues certificates (the RA depends on the registry, not the
reverse).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from ehcert.core.identifiers import InstitutionId


@dataclass(frozen=True, slots=True)
class ProviderFacts:
    ssin: str
    first_name: str
    last_name: str
    profession: str
    status: str  # validated | pending | withdrawn
    nihii: str | None = None


@dataclass(frozen=True, slots=True)
class InstitutionFacts:
    institution: InstitutionId
    name: str
    security_norms_date: dt.date | None
    data_sharing_authorisation: str | None


@dataclass(frozen=True, slots=True)
class OfficerFacts:
    """An officer of a registration office (the hybrid method, ``registry.offices``)."""

    ssin: str
    first_name: str
    last_name: str
    office_code: str
    office_name: str
    active: bool


class RegistryReader(Protocol):
    def provider(self, ssin: str) -> ProviderFacts | None: ...

    def institution(self, institution: InstitutionId) -> InstitutionFacts | None: ...

    def mandate_active(self, institution: InstitutionId, ssin: str, at: dt.datetime) -> bool: ...

    def mandated_institutions(self, ssin: str, at: dt.datetime) -> list[InstitutionId]: ...

    def officer(self, ssin: str) -> OfficerFacts | None:
        """The registration office officer with this SSIN, active or ended, if any."""
        ...

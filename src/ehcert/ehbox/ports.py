"""What the mailbox's decisions need from the rest of the platform, as narrow interfaces.

The registry says which boxes exist and who may open an institution's box (its
mandates); the ETK depot says whether a recipient can be sealed to now. The mailbox
reads neither's tables: the wiring (``platform``) passes the depot's lookup as one
callable and the registry's facts through :class:`BoxDirectory`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ehcert.core.identifiers import InstitutionId
from ehcert.ehbox.model import BoxId


@dataclass(frozen=True, slots=True)
class PersonFacts:
    ssin: str
    first_name: str
    last_name: str
    profession: str
    status: str


class BoxDirectory(Protocol):
    """The registry's facts the mailbox decides on."""

    def person(self, ssin: str) -> PersonFacts | None: ...

    def institution_name(self, institution: InstitutionId) -> str | None: ...

    def mandated_institutions(self, ssin: str, at: dt.datetime) -> list[InstitutionId]: ...


EtkAvailable = Callable[[BoxId, dt.datetime], bool]
"""Whether the depot serves a valid ETK for the holder of ``box`` at a time."""

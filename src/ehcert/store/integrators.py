"""Software integrators: who may build on the acceptance environment.

The store keeps one row per company (its CBE number) with the reference of the request
form it signed, and hands back frozen records, never ORM rows. That integrators exist
only in acceptance is the registry's rule (``registry.integrators``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.store.columns import require_aware
from ehcert.store.db import insert_unless_taken
from ehcert.store.models import IntegratorRow


@dataclass(frozen=True, slots=True)
class IntegratorRecord:
    cbe: str
    name: str
    form_reference: str
    registered_at: dt.datetime


def _record(row: IntegratorRow) -> IntegratorRecord:
    return IntegratorRecord(row.cbe, row.name, row.form_reference, row.registered_at)


class IntegratorRepository:
    """Reads and writes of integrators in the caller's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, cbe: str, name: str, form_reference: str, now: dt.datetime) -> IntegratorRecord:
        """CONFLICT, naming the field, when the company or the form is registered already."""
        values = {
            "cbe": cbe,
            "name": name,
            "form_reference": form_reference,
            "registered_at": require_aware(now),
        }
        if insert_unless_taken(self._session, IntegratorRow, values) is not None:
            if self.by_cbe(cbe) is not None:
                raise EhcertError(
                    ErrorKind.CONFLICT, f"Integrator CBE {cbe} is registered already.", field="cbe"
                )
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"The request form {form_reference} registered another integrator already.",
                field="form_reference",
            )
        found = self.by_cbe(cbe)
        assert found is not None
        return found

    def by_cbe(self, cbe: str) -> IntegratorRecord | None:
        row = self._session.scalars(select(IntegratorRow).where(IntegratorRow.cbe == cbe)).first()
        return None if row is None else _record(row)

    def all(self) -> list[IntegratorRecord]:
        rows = self._session.scalars(select(IntegratorRow).order_by(IntegratorRow.cbe))
        return [_record(row) for row in rows]

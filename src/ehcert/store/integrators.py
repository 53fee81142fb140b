"""Software integrators: who may build on the acceptance environment.

The store keeps one row per company (its CBE number) with the reference of the request
form it signed, the SHA-256 of its one-time enrolment secret while one is outstanding,
and the serial of the integrator certificate that authenticates it; it hands back
frozen records, never ORM rows. That integrators exist only in acceptance is the
registry's rule (``registry.integrators``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.store.columns import require_aware
from ehcert.store.db import affected_rows, insert_unless_taken
from ehcert.store.models import IntegratorRow


@dataclass(frozen=True, slots=True)
class IntegratorRecord:
    cbe: str
    name: str
    form_reference: str
    registered_at: dt.datetime
    enrolment_expires_at: dt.datetime | None = None  # an outstanding enrolment secret
    certificate_serial: str | None = None  # the integrator certificate, once enrolled


def _record(row: IntegratorRow) -> IntegratorRecord:
    return IntegratorRecord(
        row.cbe,
        row.name,
        row.form_reference,
        row.registered_at,
        row.enrolment_expires_at,
        row.certificate_serial,
    )


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

    def by_certificate_serial(self, serial_hex: str) -> IntegratorRecord | None:
        row = self._session.scalars(
            select(IntegratorRow).where(IntegratorRow.certificate_serial == serial_hex)
        ).first()
        return None if row is None else _record(row)

    def enrolment_secret_sha256(self, cbe: str) -> str | None:
        """The SHA-256 (hex) of ``cbe``'s outstanding enrolment secret, if any."""
        return self._session.scalar(
            select(IntegratorRow.enrolment_secret_sha256).where(IntegratorRow.cbe == cbe)
        )

    def set_enrolment_secret(self, cbe: str, secret_sha256: str, expires_at: dt.datetime) -> bool:
        """A new one-time secret replaces any outstanding one; False if ``cbe`` is unknown."""
        result = self._session.execute(
            update(IntegratorRow)
            .where(IntegratorRow.cbe == cbe)
            .values(
                enrolment_secret_sha256=secret_sha256,
                enrolment_expires_at=require_aware(expires_at, "expires_at"),
            )
        )
        return affected_rows(result) == 1

    def spend_enrolment_secret(
        self, cbe: str, secret_sha256: str, certificate_serial: str, now: dt.datetime
    ) -> bool:
        """Spend the secret and record the new certificate, in one conditional UPDATE:
        of two enrolments racing with one secret, exactly one gets True."""
        result = self._session.execute(
            update(IntegratorRow)
            .where(
                IntegratorRow.cbe == cbe,
                IntegratorRow.enrolment_secret_sha256 == secret_sha256,
                IntegratorRow.enrolment_expires_at > require_aware(now, "now"),
            )
            .values(
                enrolment_secret_sha256=None,
                enrolment_expires_at=None,
                certificate_serial=certificate_serial,
            )
            .execution_options(synchronize_session=False)
        )
        return affected_rows(result) == 1

"""Registration offices of the hybrid method, their officers and the identity checks.

A care provider who works in Belgium without a Belgian eID (a BIS number from the
Crossroads Bank for Social Security identifies them: ``core.identifiers``) registers
in person at a registration office, a municipality or an eHealth desk. An officer sees
an identity document and records it here: its type, number, issuing country and
expiry, who checked it, where and when. The registry records; the RA decides what the
check allows (a digital key: ``ra.registration_office``).

The document itself is a value object (``core.documents.IdentityDocument``), recorded
through ``registry.adapter.RegistryFacts.record_identity_check`` in the office's own
transaction. :class:`OfficeRegistry` is the operator's console over offices and officer
accounts; every write and its audit record commit together, and bad input is refused
with ``EhcertError(MALFORMED)`` naming the field, as every registry value is.
"""

from __future__ import annotations

import datetime as dt
import re

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Ssin
from ehcert.registry.validation import MAX_INSTITUTION_NAME, MAX_PERSON_NAME, parse_ssin, parse_text
from ehcert.store.audit import AuditLog
from ehcert.store.columns import require_aware
from ehcert.store.db import Database
from ehcert.store.models import OFFICE_KINDS
from ehcert.store.offices import OfficeRecord, OfficeRepository, OfficerRecord

AUDIT_ACTION = "registry"
_OFFICE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")


def _malformed(detail: str, field: str) -> EhcertError:
    return EhcertError(ErrorKind.MALFORMED, detail, field=field)


def parse_office_code(code: str) -> str:
    """An office code: 1 to 40 capital letters, digits, '-' or '_' (e.g. ``IXELLES``)."""
    if not isinstance(code, str):
        raise TypeError("office code must be a string")
    text = code.strip().upper()
    if not _OFFICE_CODE.fullmatch(text):
        raise _malformed(
            "The office code must be 1 to 40 capital letters, digits, '-' or '_', "
            f"not {code[:50]!r}.",
            "office",
        )
    return text


class OfficeRegistry:
    """The operator's console over registration offices and officer accounts."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def add_office(
        self, code: str, name: str, kind: str, *, now: dt.datetime, actor: str = "registry"
    ) -> OfficeRecord:
        """A new office; ``kind`` is ``municipality`` or ``ehealth-desk``."""
        office_code = parse_office_code(code)
        office_name = parse_text(name, "name", "office name", MAX_INSTITUTION_NAME)
        if kind not in OFFICE_KINDS:
            raise _malformed(
                f"The office kind {kind!r} is unknown; use one of {', '.join(OFFICE_KINDS)}.",
                "kind",
            )
        moment = require_aware(now, "now")
        with self._database.session() as session:
            record = OfficeRepository(session).add_office(office_code, office_name, kind, moment)
            AuditLog(session).append(
                moment, AUDIT_ACTION, actor, f"office={office_code}", {"op": "add-office"}
            )
        return record

    def offices(self) -> list[OfficeRecord]:
        with self._database.session() as session:
            return OfficeRepository(session).offices()

    def add_officer(
        self,
        ssin: str | Ssin,
        first_name: str,
        last_name: str,
        office: str,
        *,
        now: dt.datetime,
        actor: str = "registry",
    ) -> OfficerRecord:
        """An officer account for ``ssin`` at ``office``; the officer then requests their
        own eHealth certificate with their eID, and acts with it."""
        number = parse_ssin(ssin)
        first = parse_text(first_name, "first_name", "first name", MAX_PERSON_NAME)
        last = parse_text(last_name, "last_name", "last name", MAX_PERSON_NAME)
        office_code = parse_office_code(office)
        moment = require_aware(now, "now")
        with self._database.session() as session:
            record = OfficeRepository(session).add_officer(number, first, last, office_code, moment)
            AuditLog(session).append(
                moment,
                AUDIT_ACTION,
                actor,
                f"SSIN={number}",
                {"op": "add-officer", "office": office_code},
            )
        return record

    def end_officer(
        self, ssin: str | Ssin, *, now: dt.datetime, actor: str = "registry"
    ) -> OfficerRecord:
        """End an officer account: from now on the officer's certificate acts for no office."""
        number = parse_ssin(ssin)
        moment = require_aware(now, "now")
        with self._database.session() as session:
            record = OfficeRepository(session).end_officer(number, moment)
            AuditLog(session).append(
                moment, AUDIT_ACTION, actor, f"SSIN={number}", {"op": "end-officer"}
            )
        return record

    def officer(self, ssin: str | Ssin) -> OfficerRecord | None:
        with self._database.session() as session:
            return OfficeRepository(session).officer(parse_ssin(ssin))

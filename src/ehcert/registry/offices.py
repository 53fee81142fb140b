"""Registration offices of the hybrid method, their officers and the identity checks.

A care provider who works in Belgium without a Belgian eID (a BIS number from the
Crossroads Bank for Social Security identifies them: ``core.identifiers``) registers
in person at a registration office, a municipality or an eHealth desk. An officer sees
an identity document and records it here: its type, number, issuing country and
expiry, who checked it, where and when. The registry records; the RA decides what the
check allows (a digital key: ``ra.registration_office``).

:class:`IdentityDocument` validates a document's fields on construction and refuses bad
input with ``EhcertError(MALFORMED)`` naming the field, as every registry value does.
:class:`OfficeRegistry` is the operator's console over offices and officer accounts;
every write and its audit record commit together.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Ssin
from ehcert.registry.validation import MAX_INSTITUTION_NAME, MAX_PERSON_NAME, parse_ssin, parse_text
from ehcert.store.audit import AuditLog
from ehcert.store.columns import require_aware
from ehcert.store.db import Database
from ehcert.store.models import DOCUMENT_TYPES, OFFICE_KINDS
from ehcert.store.offices import OfficeRecord, OfficerRecord, OfficeRepository

AUDIT_ACTION = "registry"
_OFFICE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")
_DOCUMENT_NUMBER = re.compile(r"[A-Z0-9<-]{1,40}")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _malformed(detail: str, field: str) -> EhcertError:
    return EhcertError(ErrorKind.MALFORMED, detail, field=field)


@dataclass(frozen=True, slots=True)
class IdentityDocument:
    """The identity document an officer saw (ICAO Doc 9303 travel documents and the
    EU residence permits of Regulation 1030/2002 are what a foreign provider carries).

    ``document_number`` is upper-cased as printed in the machine-readable zone
    (letters, digits, ``<`` and ``-``); ``issuing_country`` is an ISO 3166-1 alpha-2
    code; ``expiry`` the last day the document is valid.
    """

    document_type: str
    document_number: str
    issuing_country: str
    expiry: dt.date

    def __post_init__(self) -> None:
        if self.document_type not in DOCUMENT_TYPES:
            raise _malformed(
                f"The document type {self.document_type!r} is unknown; use one of "
                f"{', '.join(DOCUMENT_TYPES)}.",
                "document_type",
            )
        if not _DOCUMENT_NUMBER.fullmatch(self.document_number):
            raise _malformed(
                "The document number must be 1 to 40 capital letters, digits, '<' or '-', "
                f"as printed on the document, not {self.document_number[:50]!r}.",
                "document_number",
            )
        if not _COUNTRY.fullmatch(self.issuing_country):
            raise _malformed(
                "The issuing country must be a two-letter ISO 3166-1 code such as PT or "
                f"RO, not {self.issuing_country[:10]!r}.",
                "issuing_country",
            )
        if isinstance(self.expiry, dt.datetime) or not isinstance(self.expiry, dt.date):
            raise TypeError("expiry must be a date")

    @classmethod
    def parse(
        cls, document_type: str, document_number: str, issuing_country: str, expiry: str
    ) -> IdentityDocument:
        """From the text an officer types or a request carries (expiry ``YYYY-MM-DD``)."""
        try:
            day = dt.date.fromisoformat(expiry.strip())
        except ValueError:
            raise _malformed(
                f"The document expiry must be a date YYYY-MM-DD, not {expiry[:20]!r}.",
                "document_expiry",
            ) from None
        return cls(
            document_type.strip().lower(),
            document_number.strip().upper().replace(" ", ""),
            issuing_country.strip().upper(),
            day,
        )

    def check_valid_on(self, day: dt.date) -> None:
        """An expired document proves nothing (it may still be shown on its last day)."""
        if self.expiry < day:
            raise _malformed(
                f"The {self.document_type} {self.document_number} expired on "
                f"{self.expiry:%Y-%m-%d}; an expired document cannot prove identity.",
                "document_expiry",
            )


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

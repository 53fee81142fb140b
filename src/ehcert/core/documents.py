"""Identity documents an officer of a registration office checks in person.

The hybrid method (docs/foreign-providers.md) identifies a person without a Belgian eID
by a document shown at the desk: a passport or an identity card (ICAO Doc 9303 travel
documents) or a residence permit (the EU format of Regulation 1030/2002). Like every
value object here it is validated on construction; bad input is refused with
``EhcertError(MALFORMED)`` naming the field, since it comes from a person typing it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ehcert.core.errors import EhcertError, ErrorKind

DOCUMENT_TYPES = ("passport", "identity-card", "residence-permit")
_DOCUMENT_NUMBER = re.compile(r"[A-Z0-9<-]{1,40}")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _malformed(detail: str, field: str) -> EhcertError:
    return EhcertError(ErrorKind.MALFORMED, detail, field=field)


@dataclass(frozen=True, slots=True)
class IdentityDocument:
    """The identity document an officer saw.

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

"""Field checks of the registry, shared by the service and the CSV import.

The identifier rules themselves live in :mod:`ehcert.core.identifiers`; this module turns
their ``ValueError`` into ``EhcertError(MALFORMED, sentence, field=...)``, the form every
registry refusal takes, and adds the checks only the registry needs (names, status).
Wrong Python types stay ``TypeError``: those are programming errors, not bad input.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import InstitutionId, Nihii, Profession, Ssin
from ehcert.core.reserved_ssins import RESERVED_BLOCK_TEXT, is_reserved_test_ssin
from ehcert.store.providers import ProviderStatus

MAX_PERSON_NAME = 100
MAX_INSTITUTION_NAME = 200
MAX_AUTHORISATION = 200

_KNOWN_PROFESSIONS = ", ".join(profession.value for profession in Profession)
_KNOWN_STATUSES = ", ".join(status.value for status in ProviderStatus)


def _sentence(error: ValueError) -> str:
    text = str(error).rstrip(".")
    return f"{text[:1].upper()}{text[1:]}."


def parse_ssin(value: str | Ssin, field: str = "ssin") -> str:
    """A valid SSIN (11 digits, mod-97 check) as a string."""
    if isinstance(value, Ssin):
        return value.value
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string or an Ssin")
    try:
        return Ssin(value.strip()).value
    except ValueError as error:
        raise EhcertError(ErrorKind.MALFORMED, _sentence(error), field=field) from error


def parse_real_ssin(value: str | Ssin, field: str = "ssin") -> str:
    """An SSIN of a real person: outside the block reserved for integrators' test
    persons (``core.reserved_ssins``), which only ``registry.test_identities`` writes, so
    the authentic source's own data can never be taken for test data or the reverse."""
    number = parse_ssin(value, field)
    if is_reserved_test_ssin(number):
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"SSIN {number} is in the block reserved for test persons "
            f"({RESERVED_BLOCK_TEXT}); no real person has it.",
            field=field,
        )
    return number


def parse_nihii(value: str | Nihii | None, field: str = "nihii") -> str | None:
    """A NIHII number of 11 digits, or None when absent (empty means absent)."""
    if value is None or isinstance(value, Nihii):
        return None if value is None else value.value
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string, a Nihii or None")
    text = value.strip()
    if not text:
        return None
    try:
        return Nihii(text).value
    except ValueError as error:
        raise EhcertError(ErrorKind.MALFORMED, _sentence(error), field=field) from error


def parse_profession(value: str | Profession, field: str = "profession") -> Profession:
    if isinstance(value, Profession):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string or a Profession")
    try:
        return Profession(value.strip().lower())
    except ValueError as error:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"Profession {value!r} is not known; known professions: {_KNOWN_PROFESSIONS}.",
            field=field,
        ) from error


def parse_status(value: str | ProviderStatus, field: str = "status") -> ProviderStatus:
    if isinstance(value, ProviderStatus):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string or a ProviderStatus")
    try:
        return ProviderStatus(value.strip().lower())
    except ValueError as error:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"Status {value!r} is not known; use one of {_KNOWN_STATUSES}.",
            field=field,
        ) from error


def parse_text(value: str, field: str, label: str, max_length: int) -> str:
    """Printable, non-empty text (leading and trailing spaces removed)."""
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string")
    text = value.strip()
    if not text:
        raise EhcertError(ErrorKind.MALFORMED, f"The {label} must not be empty.", field=field)
    if len(text) > max_length:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"The {label} must be at most {max_length} characters, not {len(text)}.",
            field=field,
        )
    if not text.isprintable() and any(
        unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for char in text
    ):
        raise EhcertError(
            ErrorKind.MALFORMED, f"The {label} contains control characters.", field=field
        )
    if "\ufffd" in text:
        raise EhcertError(
            ErrorKind.MALFORMED, f"The {label} contains bytes that are not UTF-8.", field=field
        )
    return text


def parse_institution(value: InstitutionId | str, field: str = "institution") -> InstitutionId:
    """An institution identifier, or its ``TYPE=ID`` text form."""
    if isinstance(value, InstitutionId):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{field} must be an InstitutionId or a 'TYPE=ID' string")
    try:
        return InstitutionId.parse(value)
    except ValueError as error:
        raise EhcertError(ErrorKind.MALFORMED, _sentence(error), field=field) from error


def parse_optional_date(value: dt.date | None, field: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"{field} must be a date (not a datetime) or None")
    return value

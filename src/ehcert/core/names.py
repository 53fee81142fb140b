"""eHealth subject distinguished names: build exactly as eHealth does, parse leniently.

eHealth certificates carry the holder's identity in the subject only (no SAN). In
encoding order (``openssl x509 -nameopt multiline`` lists it so):

- person: ``C=BE, O=Federal Government, OU=SSIN=<ssin>, OU=<NAME>,
  OU=eHealth-platform Belgium, CN=SSIN=<ssin>``
- institution: ``C=BE, O=Federal Government, [OU=<app>,] OU=<TYPE>=<id>, OU=<NAME>,
  OU=eHealth-platform Belgium, CN=<TYPE>=<id>[, <app>]``

Names are upper-cased with accents removed, as the platform prints them. Older real
certificates order the attributes differently (``OU=eHealth-platform Belgium`` first,
or ``CN`` first) and some carry a plain name in the CN, so :func:`parse_ehealth_subject`
looks for the identifier wherever it is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from ehcert.core.identifiers import INSTITUTION_TYPES, PERSON_TYPES, Holder

EHEALTH_OU = "eHealth-platform Belgium"
FEDERAL_GOVERNMENT = "Federal Government"
# RFC 5280 appendix A upper bound for organizationalUnitName and commonName.
MAX_RDN_LENGTH = 64

_SPECIAL_LETTERS = str.maketrans(
    {
        "Ø": "O",
        "ø": "o",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Þ": "TH",
        "þ": "th",
        "ß": "ss",
        "\u0131": "i",
    }
)
_IDENTIFIER = re.compile(
    r"^\s*([A-Z][A-Z0-9\-]*)\s*=\s*([0-9]+)\s*(?:,\s*([0-9A-Z\-_]{1,30}))?\s*$"
)


def normalise_name(text: str) -> str:
    """Upper-case, strip accents and collapse spaces: ``"Zoë  Lefèvre"`` -> ``"ZOE LEFEVRE"``."""
    if not isinstance(text, str):
        raise TypeError("name must be a string")
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL_LETTERS))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    ascii_only = plain.encode("ascii", "ignore").decode("ascii")
    return " ".join(ascii_only.upper().split())


def _checked_ou(value: str, what: str) -> str:
    if not value:
        raise ValueError(f"{what} is empty after normalisation")
    if len(value) > MAX_RDN_LENGTH:
        raise ValueError(f"{what} is longer than {MAX_RDN_LENGTH} characters: {value!r}")
    return value


def person_subject(ssin: str, first_name: str, last_name: str) -> x509.Name:
    """The subject of a care provider's eHealth certificate, in encoding order."""
    holder = Holder("SSIN", ssin)
    full_name = _checked_ou(normalise_name(f"{first_name} {last_name}"), "holder name")
    ident = f"SSIN={holder.value}"
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, FEDERAL_GOVERNMENT),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ident),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, full_name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, EHEALTH_OU),
            x509.NameAttribute(NameOID.COMMON_NAME, ident),
        ]
    )


def institution_subject(holder: Holder, name: str) -> x509.Name:
    """The subject of an institution's (optionally application-bound) certificate."""
    if holder.is_person:
        raise ValueError("institution_subject needs an institution holder")
    ident = f"{holder.type}={holder.value}"
    cn = f"{ident}, {holder.application_id}" if holder.application_id else ident
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, FEDERAL_GOVERNMENT),
    ]
    if holder.application_id:
        attributes.append(
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, holder.application_id)
        )
    attributes += [
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ident),
        x509.NameAttribute(
            NameOID.ORGANIZATIONAL_UNIT_NAME,
            _checked_ou(normalise_name(name), "institution name"),
        ),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, EHEALTH_OU),
        x509.NameAttribute(NameOID.COMMON_NAME, _checked_ou(cn, "common name")),
    ]
    return x509.Name(attributes)


@dataclass(frozen=True, slots=True)
class ParsedSubject:
    """What an eHealth subject says, without judging it (foreign certificates vary)."""

    identifier_type: str
    identifier_value: str
    application_id: str | None
    display_name: str | None

    @property
    def holder_text(self) -> str:
        base = f"{self.identifier_type}={self.identifier_value}"
        return f"{base},{self.application_id}" if self.application_id else base


def _known_type(kind: str) -> bool:
    return kind in PERSON_TYPES or kind in INSTITUTION_TYPES


def parse_ehealth_subject(name: x509.Name) -> ParsedSubject:
    """Find the holder identifier, application id and display name in any attribute order.

    The CN wins when it holds ``TYPE=ID[, APP]``; otherwise (older certificates with a
    person's name as CN) the first OU of that form. Raises ``ValueError`` when neither
    carries a known identifier type.
    """
    if not isinstance(name, x509.Name):
        raise TypeError("name must be an x509.Name")
    cns = [str(a.value) for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)]
    ous = [str(a.value) for a in name.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    for candidate in [*cns, *ous]:
        match = _IDENTIFIER.match(candidate)
        if match and _known_type(match.group(1)):
            kind, value, app = match.group(1), match.group(2), match.group(3)
            if app is None and kind in INSTITUTION_TYPES:
                app = _application_ou(ous, kind)
            display = _display_name(ous, cns)
            return ParsedSubject(kind, value, app, display)
    raise ValueError(f"no eHealth identifier found in subject {name.rfc4514_string()}")


def _application_ou(ous: list[str], kind: str) -> str | None:
    # An institution DN puts the application id in its own OU, before TYPE=ID.
    for ou in ous:
        if ou == EHEALTH_OU or _IDENTIFIER.match(ou):
            continue
        if re.fullmatch(r"[0-9A-Z\-_]{1,30}", ou) and ous.index(ou) < _first_ident(ous):
            return ou
    return None


def _first_ident(ous: list[str]) -> int:
    for index, ou in enumerate(ous):
        if _IDENTIFIER.match(ou):
            return index
    return len(ous)


def _display_name(ous: list[str], cns: list[str]) -> str | None:
    for cn in cns:
        if not _IDENTIFIER.match(cn):
            return cn
    names = [ou for ou in ous if ou != EHEALTH_OU and not _IDENTIFIER.match(ou)]
    return names[-1] if names else None

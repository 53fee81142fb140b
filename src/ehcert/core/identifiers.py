"""Identifiers of the Belgian authentic sources, validated on construction.

- SSIN (INSZ/NISS, the national register or BIS number): 11 digits ``YYMMDDnnncc``; the
  check ``cc`` is ``97 - (YYMMDDnnn mod 97)`` for births before 2000 and
  ``97 - (2YYMMDDnnn mod 97)`` for births from 2000 (Royal Decree of 8 February 1991
  and the national register's published algorithm). ``MM`` is the birth month (``00``
  when unknown) for a national register number; a BIS number, given by the Crossroads
  Bank for Social Security to people the national register does not hold (foreign care
  providers among them), has the same form and check with the month increased by 20
  when the sex is unknown and by 40 when it is known (:class:`SsinKind`). The check is
  computed over the digits as written, month offset included. Any other month, or a
  day above 31, is refused.
- NIHII (RIZIV/INAMI) number of a care provider: 11 digits.
- CBE (KBO/BCE enterprise number): 10 digits starting with 0 or 1, the last two being
  ``97 - (first eight mod 97)``.
- Institution identifiers: the eHealth list of identifier types that can hold an
  eHealth certificate, each with its number of digits, in :data:`INSTITUTION_TYPES`.

Value objects follow pyca/cryptography's convention: wrong type -> ``TypeError``, wrong
value -> ``ValueError`` naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_DIGITS = re.compile(r"[0-9]+")
APPLICATION_ID_PATTERN = re.compile(r"[0-9A-Z\-_]{1,30}")


def _require_digits(field: str, value: object, length: int) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string of {length} digits")
    if len(value) != length or not _DIGITS.fullmatch(value):
        raise ValueError(f"{field} must be exactly {length} digits, got {value!r}")
    return value


def ssin_check_is_valid(value: str) -> bool:
    """Mod-97 check of an 11-digit SSIN, trying both the pre-2000 and the 2000+ rule."""
    base, check = int(value[:9]), int(value[9:])
    return check in (97 - base % 97, 97 - (2_000_000_000 + base) % 97)


def cbe_check_is_valid(value: str) -> bool:
    """Mod-97 check of a 10-digit CBE enterprise number."""
    return int(value[8:]) == 97 - int(value[:8]) % 97


class SsinKind(StrEnum):
    """Which register gave the number, told by the offset of its month field."""

    NATIONAL_REGISTER = "national-register"  # month 00-12
    BIS_SEX_UNKNOWN = "bis-sex-unknown"  # month + 20: 20-32
    BIS_SEX_KNOWN = "bis-sex-known"  # month + 40: 40-52


BIS_MONTH_OFFSETS = {
    SsinKind.NATIONAL_REGISTER: 0,
    SsinKind.BIS_SEX_UNKNOWN: 20,
    SsinKind.BIS_SEX_KNOWN: 40,
}


def ssin_kind(value: str) -> SsinKind:
    """The kind of an 11-digit number by its month field; ValueError for any other month."""
    month = int(value[2:4])
    for kind, offset in BIS_MONTH_OFFSETS.items():
        if offset <= month <= offset + 12:
            return kind
    raise ValueError(
        f"SSIN {value} has month {value[2:4]}, which is neither a birth month (00-12) nor "
        "one of a BIS number (20-32, sex unknown; 40-52, sex known)"
    )


def ssin_born_from_2000(value: str) -> bool:
    """Which check rule the number passes: the 2000+ one (``2YYMMDDnnn``) or not."""
    base, check = int(value[:9]), int(value[9:])
    return check == 97 - (2_000_000_000 + base) % 97  # 2e9 mod 97 != 0: never both rules


@dataclass(frozen=True, slots=True)
class Ssin:
    """A national register or BIS number of a natural person (see the module docstring).

    Both are accepted wherever a person is named (registry, certificate DN, STS
    attributes, ETK lookup): they are one identifier space, told apart by :attr:`kind`.
    """

    value: str

    def __post_init__(self) -> None:
        _require_digits("SSIN", self.value, 11)
        ssin_kind(self.value)
        if int(self.value[4:6]) > 31:
            raise ValueError(f"SSIN {self.value} has day {self.value[4:6]}, above 31")
        if not ssin_check_is_valid(self.value):
            raise ValueError(f"SSIN {self.value} fails the mod-97 check")

    @property
    def kind(self) -> SsinKind:
        return ssin_kind(self.value)

    @property
    def is_bis(self) -> bool:
        """A BIS number (Crossroads Bank for Social Security), not a national register one."""
        return self.kind is not SsinKind.NATIONAL_REGISTER

    @property
    def birth_month(self) -> int | None:
        """The birth month the number encodes, offset removed; ``None`` when unknown (00)."""
        month = int(self.value[2:4]) - BIS_MONTH_OFFSETS[self.kind]
        return month or None

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Nihii:
    """A care provider's NIHII number (11 digits: person, check and qualification)."""

    value: str

    def __post_init__(self) -> None:
        _require_digits("NIHII", self.value, 11)

    def __str__(self) -> str:
        return self.value


class Profession(StrEnum):
    """Professions of the authentic source of care providers (CoBRHA/federal register)."""

    DOCTOR = "doctor"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    DENTIST = "dentist"
    PHYSIOTHERAPIST = "physiotherapist"
    MIDWIFE = "midwife"
    PSYCHOLOGIST = "psychologist"
    SPEECH_THERAPIST = "speech-therapist"
    DIETITIAN = "dietitian"
    OCCUPATIONAL_THERAPIST = "occupational-therapist"
    AUDIOLOGIST = "audiologist"
    OPTICIAN = "optician"
    PODIATRIST = "podiatrist"
    LAB_TECHNOLOGIST = "lab-technologist"
    PARAMEDIC = "paramedic"
    ORTHOPTIST = "orthoptist"


# The eHealth identifier types for organisations that can hold an eHealth certificate,
# with the number of digits of their identifier. This table is the one place that list
# lives; everything else (CLI choices, DN parsing, ETK lookup) reads it.
INSTITUTION_TYPES: dict[str, int] = {
    "CBE": 10,
    "EHP": 10,
    "NIHII-HOSPITAL": 8,
    "NIHII-PHARMACY": 8,
    "NIHII-LABO": 8,
    "NIHII-RETIREMENT": 8,
    "NIHII-OTD-PHARMACY": 8,
    "NIHII-HOME-SERVICES": 8,
    "NIHII-GROUPOFNURSES": 8,
    "NIHII-GROUP-OF-DOCTORS": 8,
    "NIHII-PSYCH-HOUSE": 8,
    "NIHII-PALLIATIVE-CARE": 8,
    "NIHII-REVALIDATION": 8,
    "NIHII-AMBULANCE-RESCUE": 8,
    "NIHII-OFFICE-DENTISTS": 8,
    "NIHII-OFFICE-PHYSIOTHERAPISTS": 8,
    "NIHII-OFFICE-MIDWIVES": 8,
    "NIHII-MEDICAL-HOUSE": 8,
    "NIHII-PROT-ACC": 8,
    "NIHII-SERV-ACC": 8,
    "NIHII-GUARD-POST": 8,
    "NIHII-CLINICAL-BIOLOGY": 8,
    "NIHII-OPTICIAN": 8,
    "NIHII-AUDIOLOGIST": 8,
    "NIHII-ORTHOPEDIST": 8,
    "NIHII-BANDAGIST": 8,
}

# Identifier types of natural persons, as they appear in eHealth DNs and ETK lookups.
PERSON_TYPES: dict[str, int] = {"SSIN": 11, "NIHII": 11}


@dataclass(frozen=True, slots=True)
class InstitutionId:
    """An organisation identifier such as ``NIHII-HOSPITAL=71000436`` or ``CBE=0123456749``."""

    type: str
    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.type, str) or not isinstance(self.value, str):
            raise TypeError("institution type and id must be strings")
        digits = INSTITUTION_TYPES.get(self.type)
        if digits is None:
            known = ", ".join(sorted(INSTITUTION_TYPES))
            raise ValueError(f"unknown institution type {self.type!r}; known types: {known}")
        _require_digits(f"{self.type} id", self.value, digits)
        if self.type == "CBE" and not cbe_check_is_valid(self.value):
            raise ValueError(f"CBE number {self.value} fails the mod-97 check")

    @classmethod
    def parse(cls, text: str) -> InstitutionId:
        """Parse ``TYPE=ID`` as the CLI and DNs write it."""
        if not isinstance(text, str):
            raise TypeError("institution must be a string TYPE=ID")
        kind, sep, value = text.strip().partition("=")
        if not sep:
            raise ValueError(f"institution must be written TYPE=ID, got {text!r}")
        return cls(kind.strip().upper(), value.strip())

    def __str__(self) -> str:
        return f"{self.type}={self.value}"


def validate_application_id(value: str) -> str:
    """Application ids name one system of an organisation: ``[0-9A-Z-_]{1,30}``."""
    if not isinstance(value, str):
        raise TypeError("application id must be a string")
    if not APPLICATION_ID_PATTERN.fullmatch(value):
        raise ValueError(
            f"application id {value!r} must be 1 to 30 characters of A-Z, 0-9, '-' or '_'"
        )
    return value


@dataclass(frozen=True, slots=True)
class Holder:
    """Who a certificate is for: a person (``SSIN``) or an organisation, with an app id.

    ``str(holder)`` is the form eHealth uses in keystore file names and the CN:
    ``SSIN=79021802145`` or ``EHP=1990001916,VITALINKGATEWAY``.
    """

    type: str
    value: str
    application_id: str | None = None

    def __post_init__(self) -> None:
        if self.type == "SSIN":
            Ssin(self.value)
            if self.application_id is not None:
                raise ValueError("a certificate for a person has no application id")
        else:
            InstitutionId(self.type, self.value)
        if self.application_id is not None:
            validate_application_id(self.application_id)

    @property
    def is_person(self) -> bool:
        return self.type == "SSIN"

    def __str__(self) -> str:
        base = f"{self.type}={self.value}"
        return f"{base},{self.application_id}" if self.application_id else base

"""Fuzz target: the identifiers of the authentic sources (SSIN, NIHII, CBE, institution
``TYPE=ID``, application ids) as they arrive in JSON fields, CLI options and CSV cells.

Text is decoded with ``surrogateescape`` so lone surrogates reach the parsers, as they do
from JSON (``"\\ud800"``). Value objects refuse with a ``ValueError`` naming the field
(``core/identifiers.py``); the registry's parsers refuse with ``EhcertError``.
"""

from __future__ import annotations

from fuzzing import main, refused_clearly

from ehcert.core.identifiers import Holder, InstitutionId, Nihii, Ssin, validate_application_id
from ehcert.registry.validation import parse_institution, parse_nihii, parse_ssin

_FIELDS = ("SSIN", "NIHII", "CBE", "institution", "id", "application id", "person")


def one_input(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    for parse in (Ssin, Nihii, InstitutionId.parse, validate_application_id):
        with refused_clearly((ValueError,), _FIELDS):
            parse(text)
    for parse_registry in (parse_ssin, parse_nihii, parse_institution):
        with refused_clearly():
            parse_registry(text)
    kind, _, rest = text.partition("=")
    value, _, application = rest.partition(",")
    with refused_clearly((ValueError,), _FIELDS):
        Holder(kind, value, application or None)


if __name__ == "__main__":
    main("identifiers")

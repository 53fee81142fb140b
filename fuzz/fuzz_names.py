"""Fuzz target: eHealth subject DNs, built from and parsed into outside text.

The input is split on NUL into attribute values. They become the CN and OU values of a
name that :func:`~ehcert.core.names.parse_ehealth_subject` must read or refuse (a
certificate sent by anyone reaches it), and the holder fields
:func:`~ehcert.core.names.person_subject` and ``institution_subject`` build a DN from.
Refusals: ``ValueError`` from ``core.names`` / ``core.identifiers`` naming what is wrong.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID
from fuzzing import main, refused_clearly

from ehcert.core.identifiers import Holder
from ehcert.core.names import (
    institution_subject,
    normalise_name,
    parse_ehealth_subject,
    person_subject,
)
from ehcert.pki.revocation import describe_name

_WORDS = ("identifier", "name", "SSIN", "NIHII", "CBE", "institution", "id", "application")


def one_input(data: bytes) -> None:
    parts = data.decode("utf-8", "surrogateescape").split("\x00")
    while len(parts) < 4:
        parts.append("")
    first, second, third, fourth = parts[:4]
    normalise_name(first)
    with refused_clearly((ValueError,), _WORDS):
        person_subject(first, second, third)
    with refused_clearly((ValueError,), _WORDS):
        kind, _, value = first.partition("=")
        institution_subject(Holder(kind, value, fourth or None), second)
    # A parsed certificate's name holds valid Unicode only: decode it that way here.
    values = data.decode("utf-8", "replace").split("\x00")
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, values[0] or " ")]
    attributes += [
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, v or " ") for v in values[1:]
    ]
    name = x509.Name(attributes)
    with refused_clearly((ValueError,), ("no eHealth identifier",)):
        parsed = parse_ehealth_subject(name)
        assert parsed.identifier_value.isdigit()
    describe_name(name)


if __name__ == "__main__":
    main("names")

"""The block of SSINs reserved for test identities: people born on 30 or 31 February.

An integrator's test persons (``registry.test_identities``) need numbers that pass
every check a real SSIN passes (11 digits, a month the register uses, a day up to 31,
the mod-97 check of ``core.identifiers``), so the certificate DN, the STS attributes,
the ETK lookup and the eHealthBox take them unchanged, and that can never be a real
person's. A national register number and a BIS number both encode the holder's real
date of birth (``00`` for an unknown month or day), and February has no 30th or 31st:
no register gives ``YY0230nnncc`` or ``YY0231nnncc``. That is the reserved block:

- ``YY``: any year, ``00`` to ``99``;
- ``MM``: ``02`` (a national register month, so the number is no BIS number);
- ``DD``: ``30`` or ``31``;
- ``nnn``: a serial ``001`` to ``998`` (``000`` and ``999`` are not given by the
  register either; leaving them out keeps the block inside the register's serials);
- ``cc``: the check of the rule for births before 2000 (``97 - YYMMDDnnn mod 97``).

199,600 numbers in all, numbered by :func:`reserved_test_ssin` so a registry can hand
them out without guessing.
"""

from __future__ import annotations

from ehcert.core.identifiers import Ssin

RESERVED_MONTH = "02"
RESERVED_DAYS = ("30", "31")
FIRST_SERIAL, LAST_SERIAL = 1, 998
_SERIALS = LAST_SERIAL - FIRST_SERIAL + 1
RESERVED_BLOCK_SIZE = 100 * len(RESERVED_DAYS) * _SERIALS
RESERVED_BLOCK_TEXT = "YY0230nnncc or YY0231nnncc (born on 30 or 31 February)"


def is_reserved_test_ssin(value: str) -> bool:
    """Is ``value`` a valid SSIN of the reserved test block (module docstring)?"""
    try:
        Ssin(value)
    except (TypeError, ValueError):
        return False
    serial = int(value[6:9])
    return (
        value[2:4] == RESERVED_MONTH
        and value[4:6] in RESERVED_DAYS
        and FIRST_SERIAL <= serial <= LAST_SERIAL
    )


def reserved_test_ssin(index: int) -> str:
    """The ``index``-th SSIN of the reserved block, ``0 <= index < RESERVED_BLOCK_SIZE``."""
    if not isinstance(index, int) or isinstance(index, bool):
        raise TypeError("index must be an int")
    if not 0 <= index < RESERVED_BLOCK_SIZE:
        raise ValueError(f"index must be from 0 to {RESERVED_BLOCK_SIZE - 1}, got {index}")
    year, rest = divmod(index, len(RESERVED_DAYS) * _SERIALS)
    day, serial = divmod(rest, _SERIALS)
    base = f"{year:02d}{RESERVED_MONTH}{RESERVED_DAYS[day]}{serial + FIRST_SERIAL:03d}"
    return base + f"{97 - int(base) % 97:02d}"

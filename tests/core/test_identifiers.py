"""SSINs and BIS numbers: one form, one mod-97 check, the month telling them apart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ehcert.core.identifiers import Holder, Ssin, SsinKind, ssin_born_from_2000

OFFSETS = {SsinKind.NATIONAL_REGISTER: 0, SsinKind.BIS_SEX_UNKNOWN: 20, SsinKind.BIS_SEX_KNOWN: 40}


def number(year: int, month_field: int, day: int, serial: int) -> str:
    """The 11 digits with the check of the national register's rule for ``year``."""
    base = int(f"{year % 100:02d}{month_field:02d}{day:02d}{serial:03d}")
    prefix = 2_000_000_000 if year >= 2000 else 0
    return f"{base:09d}{97 - (prefix + base) % 97:02d}"


births = st.tuples(
    st.integers(1900, 2099),
    st.integers(0, 12),  # 0: month unknown
    st.integers(0, 31),
    st.integers(1, 998),
)


@given(birth=births, kind=st.sampled_from(list(SsinKind)))
def test_every_kind_passes_with_the_check_of_its_century(
    birth: tuple[int, int, int, int], kind: SsinKind
) -> None:
    year, month, day, serial = birth
    value = number(year, month + OFFSETS[kind], day, serial)
    ssin = Ssin(value)
    assert ssin.kind is kind
    assert ssin.is_bis is (kind is not SsinKind.NATIONAL_REGISTER)
    assert ssin.birth_month == (month or None)
    assert ssin_born_from_2000(value) is (year >= 2000)
    assert str(Holder("SSIN", value)) == f"SSIN={value}"  # a DN's holder, BIS or not


@given(birth=births, kind=st.sampled_from(list(SsinKind)), wrong=st.integers(1, 96))
def test_a_wrong_check_is_refused_for_both_rules(
    birth: tuple[int, int, int, int], kind: SsinKind, wrong: int
) -> None:
    year, month, day, serial = birth
    value = number(year, month + OFFSETS[kind], day, serial)
    base = int(value[:9])
    bad = (int(value[9:]) + wrong) % 97 or 97
    if bad in (97 - base % 97, 97 - (2_000_000_000 + base) % 97):
        return  # the other century's check: a valid number of another birth year
    with pytest.raises(ValueError, match="mod-97"):
        Ssin(f"{value[:9]}{bad:02d}")


@given(
    month_field=st.integers(0, 99).filter(
        lambda m: not (0 <= m <= 12 or 20 <= m <= 32 or 40 <= m <= 52)
    ),
    year=st.integers(1900, 2099),
)
def test_a_month_of_neither_kind_is_refused_naming_it(month_field: int, year: int) -> None:
    value = number(year, month_field, 15, 123)
    with pytest.raises(ValueError, match=f"month {month_field:02d}, which is neither"):
        Ssin(value)


def test_the_known_examples() -> None:
    # A national register number of 1979, a BIS number of a woman born in February 1979
    # (sex known, +40), one whose sex is unknown (+20), and one born in 2001.
    assert Ssin("79021802145").kind is SsinKind.NATIONAL_REGISTER
    assert Ssin(number(1979, 42, 18, 21)).birth_month == 2
    assert Ssin(number(1979, 22, 18, 21)).kind is SsinKind.BIS_SEX_UNKNOWN
    assert ssin_born_from_2000(number(2001, 41, 1, 1))
    with pytest.raises(ValueError, match="day 32"):
        Ssin(number(1979, 2, 32, 21))

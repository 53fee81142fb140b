"""The block of SSINs reserved for test persons: valid SSINs no register can give."""

from __future__ import annotations

import pytest

from ehcert.core.identifiers import Ssin, SsinKind
from ehcert.core.reserved_ssins import (
    RESERVED_BLOCK_SIZE,
    is_reserved_test_ssin,
    reserved_test_ssin,
)


def test_every_number_of_the_block_is_a_valid_ssin_born_on_30_or_31_february() -> None:
    numbers = {reserved_test_ssin(index) for index in range(RESERVED_BLOCK_SIZE)}
    assert len(numbers) == RESERVED_BLOCK_SIZE == 199_600
    for number in numbers:
        assert Ssin(number).kind is SsinKind.NATIONAL_REGISTER  # passes mod-97 too
        assert number[2:4] == "02" and number[4:6] in ("30", "31")
        assert is_reserved_test_ssin(number)


@pytest.mark.parametrize(
    "number",
    [
        "79021802145",  # a real date of birth
        "96022900192",  # 29 February 1996 exists
        "00023000084",  # serial 000 is outside the block
        "00023000184",  # a wrong check digit
        "0002300018",  # too short
    ],
)
def test_anything_else_is_not_in_the_block(number: str) -> None:
    assert not is_reserved_test_ssin(number)


def test_an_index_outside_the_block_is_refused() -> None:
    with pytest.raises(ValueError, match="index must be from 0 to 199599"):
        reserved_test_ssin(RESERVED_BLOCK_SIZE)
    with pytest.raises(TypeError):
        reserved_test_ssin(True)

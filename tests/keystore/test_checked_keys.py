"""A private key's bytes are checked the first time this process loads them, always."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ehcert.pki import checked_keys


def _pkcs8(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _with_wrong_crt(key: rsa.RSAPrivateKey) -> bytes:
    """The same key with a wrong CRT coefficient: it would sign wrongly and so leak p, q."""
    numbers = key.private_numbers()
    bad = rsa.RSAPrivateNumbers(
        numbers.p, numbers.q, numbers.d, numbers.dmp1, numbers.dmq1,
        (numbers.iqmp + 1) % numbers.p, numbers.public_numbers,
    )  # fmt: skip
    return _pkcs8(bad.private_key(unsafe_skip_rsa_key_validation=True))


def test_a_key_with_wrong_crt_values_is_refused_even_beside_its_good_twin(
    session_rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    key = session_rsa_keys[0]
    good = _pkcs8(key)
    assert checked_keys.load_checked_private_key(good).private_numbers() == key.private_numbers()
    assert checked_keys.load_checked_private_key(good).private_numbers() == key.private_numbers()
    with pytest.raises(ValueError):
        checked_keys.load_checked_private_key(_with_wrong_crt(key))
    with pytest.raises(ValueError):  # refused bytes are not remembered as checked
        checked_keys.load_checked_private_key(_with_wrong_crt(key))


def test_what_is_remembered_is_bounded(session_rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    for index in range(checked_keys.MAX_REMEMBERED + 10):
        checked_keys.remember_checked(index.to_bytes(4, "big"))
    assert len(checked_keys._checked) == checked_keys.MAX_REMEMBERED
    good = _pkcs8(session_rsa_keys[1])
    assert checked_keys.load_checked_private_key(good).key_size == 2048

"""The PKCS#12 KDF (RFC 7292 appendix B.2) gives the same bytes in OpenSSL and in Python.

That both match other implementations shows in tests/keystore/test_fixtures.py: keystores
written by openssl and Java open (their MACs and legacy bags are keyed by this KDF)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ehcert.pki import pkcs12_kdf


def test_openssl_runs_the_kdf_here() -> None:
    # Debian's Python links hashlib with libcrypto: the fast path must be the one in use.
    assert pkcs12_kdf.uses_openssl()


@settings(max_examples=60, deadline=None)
@given(
    hash_name=st.sampled_from(["sha1", "sha224", "sha256", "sha384", "sha512"]),
    password=st.binary(max_size=70),
    salt=st.binary(max_size=70),
    purpose=st.sampled_from([1, 2, 3]),
    iterations=st.integers(min_value=1, max_value=40),
    length=st.integers(min_value=1, max_value=200),
)
def test_openssl_and_python_agree(
    hash_name: str, password: bytes, salt: bytes, purpose: int, iterations: int, length: int
) -> None:
    fast = pkcs12_kdf.pkcs12_kdf(
        hash_name, password, salt, purpose=purpose, iterations=iterations, length=length
    )
    assert fast == pkcs12_kdf.python_pkcs12_kdf(
        hash_name, password, salt, purpose=purpose, iterations=iterations, length=length
    )

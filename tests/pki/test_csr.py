"""CSR checks: only a public key with proof of possession gets through."""

from __future__ import annotations

import math
import secrets

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AttributeOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki import csr as csr_module
from ehcert.pki.csr import check_csr

ADVICE = (
    "the platform sets all certificate content from the registry, so send a CSR with an "
    "empty subject and no extensions."
)


def _csr(
    key,
    *,
    subject: x509.Name | None = None,
    extensions=(),
    attributes=(),
    algorithm: hashes.HashAlgorithm | None = None,
) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject or x509.Name([]))
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    for oid, value in attributes:
        builder = builder.add_attribute(oid, value)
    request = builder.sign(key, algorithm or hashes.SHA256())
    return request.public_bytes(serialization.Encoding.DER)


def _refusal(kind: ErrorKind, data: bytes, **options) -> str:
    with pytest.raises(EhcertError) as caught:
        check_csr(data, **options)
    assert caught.value.kind is kind, caught.value.detail
    assert caught.value.field == "csr"
    return caught.value.detail


# -- keys built from chosen primes ------------------------------------------------------


def _is_probable_prime(n: int, rounds: int = 24) -> bool:
    """Miller-Rabin with random bases."""
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _key_from_primes(p: int, q: int, *, p_cofactor: int = 1) -> rsa.RSAPrivateKey:
    """An RSA key with modulus ``p_cofactor * p * q``.

    With a cofactor (a small prime) the first "prime" of the key is ``p_cofactor * p``;
    the CRT exponent for it is reduced modulo its Carmichael function, so the key signs
    correctly. This makes a 2048-bit modulus with a tiny factor from two 1024-bit-class
    primes, much faster than searching for a 2046-bit prime.
    """
    e = 65537
    first = p_cofactor * p
    first_lambda = math.lcm(p_cofactor - 1, p - 1) if p_cofactor > 1 else p - 1
    d = pow(e, -1, math.lcm(first_lambda, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=first,
        q=q,
        d=d,
        dmp1=d % first_lambda,
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=pow(q, -1, first),
        public_numbers=rsa.RSAPublicNumbers(e, first * q),
    )
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)


_SMALL_PRIMORIAL = math.prod(n for n in range(3, 2000, 2) if all(n % d for d in range(3, n, 2)))


def _prime_where(make_candidate) -> int:
    while True:
        candidate = make_candidate()
        if (
            math.gcd(candidate, _SMALL_PRIMORIAL) == 1  # cheap sieve before Miller-Rabin
            and math.gcd(candidate - 1, 65537) == 1
            and _is_probable_prime(candidate)
        ):
            return candidate


def _roca_prime() -> int:
    """A 1024-bit prime of the vulnerable generator's form k*M + (65537^a mod M), with M the
    product of the first 126 primes, as for 2048-bit keys (CVE-2017-15361)."""
    primes = [n for n in range(702) if _is_probable_prime(n)]
    m = math.prod(primes)
    order = math.lcm(*(p - 1 for p in primes))
    low, high = math.isqrt(2**2047) // m + 1, 2**1024 // m  # p*q has exactly 2048 bits

    def candidate() -> int:
        k = low + secrets.randbelow(high - low)
        return k * m + pow(65537, secrets.randbelow(order), m)

    return _prime_where(candidate)


@pytest.fixture(scope="module")
def roca_key() -> rsa.RSAPrivateKey:
    return _key_from_primes(_roca_prime(), _roca_prime())


@pytest.fixture(scope="module")
def close_primes_key() -> rsa.RSAPrivateKey:
    p = _prime_where(lambda: secrets.randbits(1024) | (3 << 1022) | 1)
    q = _prime_where(lambda: p + 2 * (secrets.randbelow(1 << 20) + 1))
    return _key_from_primes(p, q)


@pytest.fixture(scope="module")
def small_factor_key() -> rsa.RSAPrivateKey:
    # p in [1.5, 1.625) * 2**1022 and q in [1, 1.25) * 2**1023: 3*p*q has exactly 2048 bits.
    p = _prime_where(lambda: (3 << 1021) | secrets.randbits(1019) | 1)
    q = _prime_where(lambda: (1 << 1023) | secrets.randbits(1021) | 1)
    return _key_from_primes(p, q, p_cofactor=3)


@pytest.fixture(scope="module")
def exponent_3_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=3, key_size=2048)


# -- accepted ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["leaf", "rsa_3072", "rsa_4096"])
def test_good_keys(keys, name):
    key = getattr(keys, name)
    accepted = check_csr(_csr(key))
    assert accepted.public_numbers() == key.public_key().public_numbers()


def test_pem_is_accepted(keys):
    der = _csr(keys.leaf)
    pem = x509.load_der_x509_csr(der).public_bytes(serialization.Encoding.PEM)
    assert check_csr(pem).public_numbers() == keys.leaf.public_key().public_numbers()


def test_expected_subject_is_accepted(keys):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "76120902527")])
    check_csr(_csr(keys.leaf, subject=subject), expected_subject=subject)


# -- content ----------------------------------------------------------------------------


def test_subject_refused(keys):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bob")])
    detail = _refusal(ErrorKind.BAD_CSR, _csr(keys.leaf, subject=subject))
    assert detail == f"The CSR has the subject 'CN=Bob'; {ADVICE}"


def test_subject_other_than_expected_refused(keys):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bob")])
    expected = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Alice")])
    detail = _refusal(
        ErrorKind.BAD_CSR, _csr(keys.leaf, subject=subject), expected_subject=expected
    )
    assert detail == f"The CSR has the subject 'CN=Bob', not the expected 'CN=Alice'; {ADVICE}"


def test_subject_alternative_name_refused(keys):
    san = x509.SubjectAlternativeName([x509.RFC822Name("bob@example.test")])
    detail = _refusal(ErrorKind.BAD_CSR, _csr(keys.leaf, extensions=[san]))
    assert detail == f"The CSR asks for a subject alternative name; {ADVICE}"


def test_extension_request_refused_naming_each_extension(keys):
    usage = x509.KeyUsage(True, True, True, False, False, False, False, False, False)
    constraints = x509.BasicConstraints(ca=True, path_length=None)
    detail = _refusal(ErrorKind.BAD_CSR, _csr(keys.leaf, extensions=[usage, constraints]))
    assert detail == f"The CSR asks for a key usage and basic constraints; {ADVICE}"


def test_unknown_extension_refused_by_oid(keys):
    unknown = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.32473.7"), b"\x05\x00")
    detail = _refusal(ErrorKind.BAD_CSR, _csr(keys.leaf, extensions=[unknown]))
    assert "the extension 1.3.6.1.4.1.32473.7" in detail


def test_attribute_refused(keys):
    detail = _refusal(
        ErrorKind.BAD_CSR,
        _csr(keys.leaf, attributes=[(AttributeOID.CHALLENGE_PASSWORD, b"secret")]),
    )
    assert detail == f"The CSR asks for the attribute challengePassword; {ADVICE}"


# -- form and signature -----------------------------------------------------------------


def test_tampered_signature_refused(keys):
    der = bytearray(_csr(keys.leaf))
    der[-1] ^= 0x01
    detail = _refusal(ErrorKind.BAD_CSR, bytes(der))
    assert "does not prove possession of the private key" in detail


def test_sha1_signed_csr_refused(keys):
    # cryptography refuses to make SHA-1 signatures; SHA-224 is below the floor as well.
    detail = _refusal(ErrorKind.BAD_CSR, _csr(keys.leaf, algorithm=hashes.SHA224()))
    assert detail == "The CSR is signed with SHA224; sign it with SHA-256 or stronger."


def test_garbage_refused():
    detail = _refusal(ErrorKind.BAD_CSR, b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n")
    assert detail.startswith("The CSR cannot be read")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1024))
def test_arbitrary_bytes_raise_only_ehcert_errors(data):
    with pytest.raises(EhcertError):
        check_csr(data)


# -- key rules --------------------------------------------------------------------------


def test_1024_bit_key_refused(keys):
    detail = _refusal(ErrorKind.BAD_KEY, _csr(keys.rsa_1024))
    assert detail == "The CSR key is RSA 1024 bits; the minimum is 2048 bits."


def test_size_outside_the_allowed_list_refused(keys):
    detail = _refusal(ErrorKind.BAD_KEY, _csr(keys.rsa_3072), allowed_key_sizes=(2048, 4096))
    assert detail == "The CSR key is RSA 3072 bits; the platform accepts 2048 or 4096 bits."


def test_allowed_sizes_below_the_floor_are_a_programming_error(keys):
    with pytest.raises(ValueError, match="2048 bits or more"):
        check_csr(_csr(keys.rsa_1024), allowed_key_sizes=(1024, 2048))


def test_ec_p256_key_accepted(keys):
    assert (
        check_csr(_csr(keys.ec_p256)).public_numbers() == keys.ec_p256.public_key().public_numbers()
    )


def test_exponent_other_than_65537_refused(exponent_3_key):
    detail = _refusal(ErrorKind.BAD_KEY, _csr(exponent_3_key))
    assert detail == "The CSR key has the public exponent 3; the platform requires 65537."


def test_small_prime_factor_refused(small_factor_key):
    assert small_factor_key.key_size == 2048
    detail = _refusal(ErrorKind.BAD_KEY, _csr(small_factor_key))
    assert detail == (
        "The CSR key's modulus is divisible by 3, so the key is broken; generate a new key."
    )


def test_close_primes_refused(close_primes_key):
    detail = _refusal(ErrorKind.BAD_KEY, _csr(close_primes_key))
    assert "Fermat's method" in detail


def test_roca_key_refused(roca_key):
    assert roca_key.key_size == 2048
    assert csr_module.has_roca_fingerprint(roca_key.public_key().public_numbers().n)
    detail = _refusal(ErrorKind.BAD_KEY, _csr(roca_key))
    assert "(ROCA)" in detail


def test_ordinary_keys_have_no_roca_fingerprint(keys):
    for key in (keys.root, keys.issuing, keys.leaf, keys.other, keys.rsa_3072, keys.rsa_4096):
        assert not csr_module.has_roca_fingerprint(key.public_key().public_numbers().n)

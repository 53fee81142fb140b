"""The CSR carries only a public key and a proof of possession (RFC 2986)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ehcert.client.keys import build_csr, generate_rsa_key
from ehcert.core.errors import EhcertError, ErrorKind


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return generate_rsa_key()


def test_generated_key_is_2048_bit_rsa_with_f4(key: rsa.RSAPrivateKey) -> None:
    assert key.key_size == 2048
    assert key.public_key().public_numbers().e == 65537


def test_csr_has_empty_subject_no_extensions_and_verifies(key: rsa.RSAPrivateKey) -> None:
    csr = x509.load_der_x509_csr(build_csr(key))
    assert csr.subject == x509.Name([])
    assert len(csr.extensions) == 0
    assert list(csr.attributes) == []
    assert csr.is_signature_valid
    assert csr.signature_hash_algorithm is not None
    assert csr.signature_hash_algorithm.name == "sha256"
    assert csr.public_key() == key.public_key()


def test_openssl_verifies_the_csr(key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    der = tmp_path / "request.der"
    der.write_bytes(build_csr(key))
    result = subprocess.run(
        ["openssl", "req", "-inform", "DER", "-in", str(der), "-verify", "-noout", "-subject"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "verify OK" in result.stdout + result.stderr
    assert result.stdout.strip().removeprefix("subject=").strip() == ""


def test_a_key_too_small_is_refused_before_generation() -> None:
    with pytest.raises(EhcertError) as caught:
        generate_rsa_key(1024)
    assert caught.value.kind is ErrorKind.BAD_KEY
    assert "1024" in caught.value.detail


@pytest.mark.parametrize("bits", [True, "2048", 2048.0])
def test_key_size_must_be_an_int(bits: object) -> None:
    with pytest.raises(TypeError):
        generate_rsa_key(bits)  # type: ignore[arg-type]


def test_csr_needs_an_rsa_private_key(key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(TypeError):
        build_csr(key.public_key())  # type: ignore[arg-type]

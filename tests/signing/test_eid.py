"""The requester's eID credential: from a PKCS#12 file and from a PKCS#11 token."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from ehcert.client.eid import EidCredential, Pkcs11EidCredential, Pkcs12EidCredential
from ehcert.core.errors import EhcertError, ErrorKind

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "etee"
NONCE = b"server nonce 5f1d0c7e"


def _verify(certificate: x509.Certificate, signature: bytes, algorithm: str) -> None:
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    if algorithm == "PS256":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        key.verify(signature, NONCE, pss, hashes.SHA256())
    else:
        key.verify(signature, NONCE, padding.PKCS1v15(), hashes.SHA256())


def _signs_both_ways(credential: EidCredential) -> None:
    for algorithm in ("RS256", "PS256"):
        signature = credential.sign(NONCE, algorithm)  # type: ignore[arg-type]
        _verify(credential.certificate, signature, algorithm)
    # The two schemes really differ: a PKCS#1 v1.5 signature is no PSS signature.
    rs256 = credential.sign(NONCE, "RS256")
    with pytest.raises(InvalidSignature):
        _verify(credential.certificate, rs256, "PS256")


@pytest.fixture(scope="session")
def eid_p12(tmp_path_factory: pytest.TempPathFactory, eid_material) -> Path:
    path = tmp_path_factory.mktemp("eid") / "alice.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"Authentication",
            eid_material.key,
            eid_material.certificate,
            [eid_material.root, eid_material.citizen_ca],  # deliberately out of order
            BestAvailableEncryption(b"1234"),
        )
    )
    return path


def test_pkcs12_credential(eid_p12: Path, eid_material) -> None:
    credential = Pkcs12EidCredential.from_file(eid_p12, "1234")
    assert isinstance(credential, EidCredential)
    assert credential.certificate == eid_material.certificate
    assert credential.chain == (eid_material.citizen_ca, eid_material.root)
    _signs_both_ways(credential)


def test_pkcs12_from_another_implementation() -> None:
    credential = Pkcs12EidCredential.from_file(FIXTURES / "alice" / "alice_auth.p12", "test")
    assert credential.certificate.subject.rfc4514_string().endswith("CN=NIHII=00000000101")
    chain_names = [c.subject.rfc4514_string() for c in credential.chain]
    assert chain_names == [
        "C=BE,O=Federal Government,OU=eHealth-platform Belgium,CN=eH CA",
        "C=BE,O=Federal Government,OU=eHealth-platform Belgium,CN=eH Root CA",
    ]
    _signs_both_ways(credential)


def test_pkcs12_refusals(eid_p12: Path, tmp_path: Path) -> None:
    with pytest.raises(EhcertError) as wrong_pin:
        Pkcs12EidCredential.from_file(eid_p12, "4321")
    assert wrong_pin.value.kind is ErrorKind.UNAUTHORIZED
    assert wrong_pin.value.field == "pin"
    with pytest.raises(EhcertError) as missing:
        Pkcs12EidCredential.from_file(tmp_path / "none.p12", "1234")
    assert missing.value.kind is ErrorKind.NOT_FOUND
    credential = Pkcs12EidCredential.from_file(eid_p12, "1234")
    with pytest.raises(ValueError, match="RS256"):
        credential.sign(NONCE, "ES256")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        credential.sign("text", "RS256")  # type: ignore[arg-type]


def test_pkcs11_credential_like_a_belgian_eid_card(eid_token, eid_material) -> None:
    credential = Pkcs11EidCredential(eid_token.module, eid_token.label, eid_token.pin)
    assert isinstance(credential, EidCredential)
    assert credential.certificate == eid_material.certificate
    assert credential.chain == (eid_material.citizen_ca, eid_material.root)
    _signs_both_ways(credential)


def test_pkcs11_credential_refusals(eid_token) -> None:
    with pytest.raises(EhcertError) as no_label:
        Pkcs11EidCredential(eid_token.module, eid_token.label, eid_token.pin, key_label="Signature")
    assert no_label.value.kind is ErrorKind.NOT_FOUND
    assert "Signature" in no_label.value.detail
    with pytest.raises(EhcertError) as wrong_pin:
        Pkcs11EidCredential(eid_token.module, eid_token.label, "0000")
    assert wrong_pin.value.kind is ErrorKind.UNAUTHORIZED


def test_client_eid_imports_no_server_package() -> None:
    code = (
        "import sys, ehcert.client.eid\n"
        "bad = [m for m in sys.modules if m.split('.')[:2] in "
        "(['ehcert','store'],['ehcert','registry'],['ehcert','ra'],['ehcert','ca'],"
        "['ehcert','api'])]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr

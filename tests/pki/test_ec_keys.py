"""EC keys wherever a key is read: P-256 and P-384 by a named curve pass, and a curve
outside the policy, explicit curve parameters or a point off the curve are refused in
one sentence that names the curve or the reason (CSR, certificate, JWS ``x5c``)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.csr import check_csr
from ehcert.pki.jws import create_jws, verify_jws
from ehcert.pki.public_keys import certificate_public_key, ecdsa_der, ecdsa_raw, spki_problem

URL = "https://platform.example.test/v1/certificates"
NONCE = "oFvnlFP1wIhRlYS2jTaXbA"


def _csr(key: ec.EllipticCurvePrivateKey, algorithm: hashes.HashAlgorithm) -> bytes:
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    return request.sign(key, algorithm).public_bytes(serialization.Encoding.DER)


def _refused(action) -> EhcertError:
    with pytest.raises(EhcertError) as caught:
        action()
    assert caught.value.kind is ErrorKind.BAD_KEY, caught.value.detail
    return caught.value


@pytest.fixture(scope="module")
def p384() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="module")
def explicit_csr(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A CSR whose P-384 key is written with explicit curve parameters (openssl)."""
    folder: Path = tmp_path_factory.mktemp("explicit")
    key = folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "ecparam",
            "-name",
            "secp384r1",
            "-param_enc",
            "explicit",
            "-genkey",
            "-noout",
            "-out",
            str(key),
        ],
        check=True,
    )
    out = folder / "csr.der"
    subprocess.run(
        [
            "openssl",
            "req",
            "-new",
            "-key",
            str(key),
            "-subj",
            "/CN=x",
            "-sha384",
            "-outform",
            "DER",
            "-out",
            str(out),
        ],
        check=True,
    )
    return out.read_bytes()


def test_p384_csr_accepted_with_its_key(p384) -> None:
    key = check_csr(_csr(p384, hashes.SHA384()))
    assert key.public_numbers() == p384.public_key().public_numbers()


@pytest.mark.parametrize(
    ("curve", "label"),
    [(ec.SECP192R1(), "P-192"), (ec.SECP224R1(), "P-224"), (ec.SECP521R1(), "P-521")],
)
def test_csr_on_a_curve_outside_the_policy_names_the_curve(curve, label) -> None:
    detail = _refused(lambda: check_csr(_csr(ec.generate_private_key(curve), hashes.SHA256())))
    assert detail.detail == (
        f"The CSR key is not an accepted key (EC ({label})); the platform accepts only RSA "
        "keys of at least 2048 bits and EC keys on P-256 or P-384."
    )
    assert detail.field == "csr"


def test_csr_with_explicit_curve_parameters_refused(explicit_csr) -> None:
    detail = _refused(lambda: check_csr(explicit_csr)).detail
    assert detail == (
        "The CSR key is an EC key given by explicit curve parameters; only a named curve "
        "(P-256 or P-384) is accepted."
    )


def test_csr_whose_point_is_off_the_curve_refused(p384) -> None:
    request = asn1_csr.CertificationRequest.load(_csr(p384, hashes.SHA384()))
    info = request["certification_request_info"]
    point = bytearray(info["subject_pk_info"]["public_key"].native)
    point[-1] ^= 0x01  # y no longer matches x: the point leaves the curve
    info["subject_pk_info"]["public_key"] = bytes(point)
    forged = asn1_csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": request["signature_algorithm"],
            "signature": request["signature"].native,
        }
    ).dump()
    detail = _refused(lambda: check_csr(forged)).detail
    assert detail == "The CSR key is not a valid EC key: its point is not on the curve P-384."


def _certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EC eID")])
    moment = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(moment)
        .not_valid_after(moment + dt.timedelta(days=1))
        .sign(key, hashes.SHA384())
    )


def test_es384_proof_verifies_with_raw_r_and_s(p384) -> None:
    certificate = _certificate(p384)

    def sign(data: bytes) -> bytes:
        return ecdsa_raw(p384.sign(data, ec.ECDSA(hashes.SHA384())), p384)

    document = create_jws(b"{}", url=URL, nonce=NONCE, chain=[certificate], sign=sign, alg="ES384")
    verified = verify_jws(document, expected_url=URL)
    assert verified.alg == "ES384"
    assert verified.chain[0] == certificate


def test_es384_signature_in_der_form_is_refused(p384) -> None:
    certificate = _certificate(p384)
    raw: list[bytes] = []

    def sign(data: bytes) -> bytes:
        raw.append(ecdsa_raw(p384.sign(data, ec.ECDSA(hashes.SHA384())), p384))
        return raw[-1]

    document = create_jws(b"{}", url=URL, nonce=NONCE, chain=[certificate], sign=sign, alg="ES384")
    from ehcert.pki.jws import b64url_encode

    tampered = {**document, "signature": b64url_encode(ecdsa_der(raw[-1]))}
    with pytest.raises(EhcertError) as caught:
        verify_jws(tampered, expected_url=URL)
    assert caught.value.kind is ErrorKind.UNAUTHORIZED


def test_es256_header_with_a_p384_key_is_refused(p384) -> None:
    certificate = _certificate(p384)
    with pytest.raises(ValueError, match="ES256 does not fit"):
        create_jws(b"{}", url=URL, nonce=NONCE, chain=[certificate], sign=bytes, alg="ES256")


def test_certificate_on_p192_is_refused_naming_the_curve() -> None:
    key = ec.generate_private_key(ec.SECP192R1())
    detail = _refused(lambda: certificate_public_key(_certificate(key), "eID key")).detail
    assert "(EC (P-192))" in detail


def test_a_key_of_an_unknown_algorithm_is_refused_in_one_sentence(
    session_rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    # rsaEncryption's OID with one arc changed (1.3.70.72...): asn1crypto knows no
    # parameters for it, which once escaped as a KeyError from a JWS's x5c certificate.
    spki = (
        session_rsa_keys[0]
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    rsa_oid = bytes.fromhex("06092a864886f70d010101")
    assert rsa_oid in spki
    mutated = spki.replace(rsa_oid, bytes.fromhex("06092b464886f70d010101"))
    problem, key = spki_problem(mutated, "certificate key")
    assert key is None
    assert problem is not None
    assert problem.detail == "The certificate key cannot be read."

"""A CA hierarchy with EC P-384 keys (``ehcert admin init --key-type ec-p384``), as
eHealth's second-generation issuing CA has: every CA certificate, the OCSP responder,
an EC and an RSA holder certificate and an EC test eID are ecdsa-with-SHA384 and
pkilint-clean; mixed chains validate; the CRL and an OCSP answer it signs verify with
openssl; the same hierarchy can be made on a PKCS#11 token."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import SignatureAlgorithmOID
from typer.testing import CliRunner

from ehcert.ca.authority import OcspStatus
from ehcert.ca.ceremonies import create_hierarchy
from ehcert.ca.credentials import PublicUrls
from ehcert.ca.directory import CaDirectory
from ehcert.ca.keys import Pkcs11KeyBackend
from ehcert.cli.main import app
from ehcert.core.clock import FixedClock
from ehcert.core.keys import KEY_TYPES
from ehcert.core.names import person_subject
from ehcert.pki import pkcs11, pkcs11_sessions
from ehcert.pki.lint import LintProfile, blocking, lint_certificate, lint_crl
from ehcert.pki.pathval import KeyPurpose, validate_path
from ehcert.platform import Platform
from ehcert.settings import Settings

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
ECDSA_SHA384 = SignatureAlgorithmOID.ECDSA_WITH_SHA384


@pytest.fixture(scope="module")
def ec_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    data_dir = tmp_path_factory.mktemp("ec-ca")
    settings = Settings(data_dir=data_dir, public_url="http://127.0.0.1:1")
    platform = Platform.open(settings, FixedClock(T0), key_type=KEY_TYPES["ec-p384"])
    yield platform
    platform.database.dispose()


def test_admin_init_takes_the_key_type_and_names_the_allowed_ones(tmp_path: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(
        app, ["admin", "init", "--data-dir", str(tmp_path / "a"), "--key-type", "ec-p521"]
    )
    assert refused.exit_code == 1
    assert "use rsa-2048, rsa-3072, rsa-4096, ec-p256 or ec-p384" in refused.output
    made = runner.invoke(
        app,
        ["admin", "init", "--data-dir", str(tmp_path / "b"), "--key-type", "ec-p256", "--json"],
    )
    assert made.exit_code == 0, made.output
    assert '"key_type": "ec-p256"' in made.output
    issuing = x509.load_pem_x509_certificate(
        (tmp_path / "b" / "pki" / "acceptance" / "issuing.crt").read_bytes()
    )
    assert issuing.signature_algorithm_oid == SignatureAlgorithmOID.ECDSA_WITH_SHA256


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _pem(path: Path, *certificates: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates))
    return path


def _p384(certificate: x509.Certificate) -> bool:
    key = certificate.public_key()
    return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1"


def test_every_ca_certificate_is_p384_ecdsa_with_sha384_and_lint_clean(ec_platform) -> None:
    hierarchy = ec_platform.hierarchy
    assert hierarchy.eid_root is not None and hierarchy.eid_ca is not None
    shapes = [
        (hierarchy.root.certificate, LintProfile.ROOT_CA),
        (hierarchy.issuing.certificate, LintProfile.ISSUING_CA),
        (hierarchy.ocsp.certificate, LintProfile.OCSP_SIGNER),
        (hierarchy.eid_root.certificate, LintProfile.ROOT_CA),
        (hierarchy.eid_ca.certificate, LintProfile.ISSUING_CA),
    ]
    for certificate, profile in shapes:
        assert _p384(certificate), certificate.subject
        assert certificate.signature_algorithm_oid == ECDSA_SHA384
        assert blocking(lint_certificate(_der(certificate), profile)) == []
    # The document signers keep RSA 2048, certified by the EC issuing CA (a mixed chain).
    depot = hierarchy.etk_depot.certificate
    assert isinstance(depot.public_key(), rsa.RSAPublicKey)
    assert depot.signature_algorithm_oid == ECDSA_SHA384
    assert blocking(lint_certificate(_der(depot), LintProfile.ETK_DEPOT)) == []


@pytest.mark.parametrize("key_type", ["ec-p384", "rsa-2048"])
def test_holder_certificates_under_the_ec_ca_lint_clean_and_validate(ec_platform, key_type) -> None:
    from ehcert.pki.public_keys import generate_private_key

    key = generate_private_key(KEY_TYPES[key_type])
    subject = person_subject("79021802145", "Bryan", "Brouckaert")
    leaf = ec_platform.ca.sign_authentication(subject, key.public_key(), 4242, T0)
    assert leaf.signature_algorithm_oid == ECDSA_SHA384
    assert blocking(lint_certificate(_der(leaf), LintProfile.END_ENTITY)) == []
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_encipherment is (key_type == "rsa-2048")  # RFC 5480 section 3
    hierarchy = ec_platform.hierarchy
    validated = validate_path(
        leaf,
        [hierarchy.issuing.certificate],
        [hierarchy.root.certificate],
        at=T0 + dt.timedelta(days=1),
        purpose=KeyPurpose.CLIENT_AUTHENTICATION,
        revocation=None,
    )
    assert validated.certificates[-1] == hierarchy.root.certificate


def test_an_ec_test_eid_is_lint_clean(ec_platform) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    eid = ec_platform.ca.sign_test_eid("79021802145", "Bryan", "Brouckaert", key.public_key(), T0)
    assert _p384(eid) and eid.signature_algorithm_oid == ECDSA_SHA384
    assert blocking(lint_certificate(_der(eid), LintProfile.EID_AUTHENTICATION)) == []


def test_the_crl_of_the_ec_issuing_ca_verifies_with_openssl(ec_platform, tmp_path) -> None:
    hierarchy = ec_platform.hierarchy
    crl = ec_platform.ca.sign_crl(hierarchy.issuing, [], 1, T0)
    der = crl.public_bytes(serialization.Encoding.DER)
    assert blocking(lint_crl(der)) == []
    (tmp_path / "crl.der").write_bytes(der)
    ca = _pem(tmp_path / "ca.pem", hierarchy.issuing.certificate, hierarchy.root.certificate)
    result = subprocess.run(
        [
            "openssl",
            "crl",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "crl.der"),
            "-CAfile",
            str(ca),
            "-noout",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "verify OK" in result.stderr + result.stdout


def test_an_ocsp_answer_by_the_ec_responder_verifies_with_openssl(ec_platform, tmp_path) -> None:
    hierarchy = ec_platform.hierarchy
    key = ec.generate_private_key(ec.SECP384R1())
    leaf = ec_platform.ca.sign_authentication(
        person_subject("85071212390", "Zoe", "Lefevre"), key.public_key(), 4343, T0
    )
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(leaf, hierarchy.issuing.certificate, hashes.SHA1())
        .build()
    )
    response = ec_platform.ca.ocsp_response(request, leaf, OcspStatus(known=True), T0)
    assert response.signature_algorithm_oid == ECDSA_SHA384
    (tmp_path / "answer.der").write_bytes(response.public_bytes(serialization.Encoding.DER))
    issuer = _pem(tmp_path / "issuing.pem", hierarchy.issuing.certificate)
    anchors = _pem(tmp_path / "root.pem", hierarchy.root.certificate)
    result = subprocess.run(
        [
            "openssl",
            "ocsp",
            "-respin",
            str(tmp_path / "answer.der"),
            "-issuer",
            str(issuer),
            "-CAfile",
            str(anchors),
            "-cert",
            str(_pem(tmp_path / "leaf.pem", leaf)),
            "-attime",
            str(int((T0 + dt.timedelta(hours=1)).timestamp())),
            "-no_nonce",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Response verify OK" in result.stderr + result.stdout, result.stderr
    assert "\ngood\n" in result.stdout  # the status-times warning is the real clock's


def test_an_ec_hierarchy_on_a_pkcs11_token(softhsm_conf_dir: Path, tmp_path: Path) -> None:
    pkcs11.init_softhsm_token("ehcert-ec-ca", "so-pin-1234", "ec-pin-5678", softhsm_conf_dir)
    backend = Pkcs11KeyBackend("production", pkcs11.SOFTHSM2_MODULE, "ehcert-ec-ca", "ec-pin-5678")
    try:
        hierarchy = create_hierarchy(
            CaDirectory(tmp_path / "pki"),
            backend,
            "production",
            PublicUrls("http://127.0.0.1:1", "production"),
            T0,
            key_type=KEY_TYPES["ec-p384"],
        )
        issuing = hierarchy.issuing.certificate
        assert _p384(issuing) and issuing.signature_algorithm_oid == ECDSA_SHA384
        issuing.verify_directly_issued_by(hierarchy.root.certificate)
        hierarchy.ocsp.certificate.verify_directly_issued_by(issuing)
        assert _p384(hierarchy.ocsp.certificate)
    finally:
        pkcs11_sessions.close_sessions()

"""The STS key and certificate: made once, reopened after, shaped as a service signer,
checked by openssl, and usable from an HSM (SoftHSM2 through PKCS#11)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ehcert.ca.directory import CaDirectory
from ehcert.ca.keys import STS_ROLE, Pkcs11KeyBackend
from ehcert.ca.service_certificates import ServiceCertificates
from ehcert.client.sts import verify_assertion
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder
from ehcert.pki import pkcs11, pkcs11_sessions
from ehcert.platform import ca_directory, key_backend
from ehcert.registry.adapter import RegistryFacts
from ehcert.settings import Settings
from ehcert.sts.keys import StsCredential
from ehcert.sts.service import SecurityTokenService, TokenRequest

from .conftest import DOCTOR, T0, StsPki, XmlsecVerify

STS_CERTIFICATE_FILE = "sts.crt"


def test_reopening_gives_the_same_key_and_certificate(sts_pki: StsPki) -> None:
    settings = Settings(data_dir=sts_pki.data_dir, public_url="http://127.0.0.1:1")
    again = ServiceCertificates(
        ca_directory(settings),
        key_backend(settings),
        sts_pki.platform.hierarchy.issuing,
        sts_pki.platform.urls,
        "acceptance",
    ).open(STS_ROLE, T0 + dt.timedelta(days=3))
    assert again.certificate == sts_pki.credential.certificate
    assert again.signer.public_key() == sts_pki.credential.signer.public_key()


def test_the_certificate_is_a_service_signer_of_this_environment(sts_pki: StsPki) -> None:
    certificate = sts_pki.credential.certificate
    issuing = sts_pki.platform.hierarchy.issuing.certificate
    certificate.verify_directly_issued_by(issuing)
    assert certificate.subject.rfc4514_string().startswith("CN=ehcert Acceptance TEST STS")
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not (usage.value.key_encipherment or usage.value.content_commitment)
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    with pytest.raises(x509.ExtensionNotFound):
        certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert certificate.not_valid_after_utc == issuing.not_valid_after_utc
    directory = sts_pki.data_dir / "pki" / "acceptance"
    checked = subprocess.run(
        [
            "openssl",
            "verify",
            "-attime",
            str(int((T0 + dt.timedelta(hours=1)).timestamp())),
            "-CAfile",
            str(directory / "root.crt"),
            "-untrusted",
            str(directory / "issuing.crt"),
            str(directory / STS_CERTIFICATE_FILE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_a_certificate_that_does_not_match_the_key_is_refused(
    sts_pki: StsPki, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(sts_pki.data_dir, data_dir)
    directory = data_dir / "pki" / "acceptance"
    shutil.copy(directory / "ocsp.crt", directory / STS_CERTIFICATE_FILE)
    settings = Settings(data_dir=data_dir, public_url="http://127.0.0.1:1")
    with pytest.raises(EhcertError) as refused:
        ServiceCertificates(
            ca_directory(settings),
            key_backend(settings),
            sts_pki.platform.hierarchy.issuing,
            sts_pki.platform.urls,
            "acceptance",
        ).open(STS_ROLE, T0)
    assert refused.value.kind is ErrorKind.INTERNAL
    assert "does not match the STS key" in refused.value.detail


def test_an_sts_key_on_an_hsm_signs_verifiable_tokens(
    sts_pki: StsPki, softhsm_conf_dir: Path, tmp_path: Path, xmlsec_verify: XmlsecVerify
) -> None:
    pkcs11.init_softhsm_token("ehcert-sts", "so-pin-1234", "sts-pin-5678", softhsm_conf_dir)
    directory = tmp_path / "acceptance"
    directory.mkdir()
    backend = Pkcs11KeyBackend("acceptance", pkcs11.SOFTHSM2_MODULE, "ehcert-sts", "sts-pin-5678")
    issued = ServiceCertificates(
        CaDirectory(directory),
        backend,
        sts_pki.platform.hierarchy.issuing,
        sts_pki.platform.urls,
        "acceptance",
    ).open(STS_ROLE, T0)
    credential = StsCredential(issued.certificate, issued.signer)
    assert not list(directory.glob("*.key"))  # the key is on the token only
    service = SecurityTokenService(
        credential,
        "http://127.0.0.1:1/sts",
        token_validity=dt.timedelta(hours=24),
        max_token_validity=dt.timedelta(hours=24),
    )
    with sts_pki.platform.unit_of_work() as session:
        issued = service.issue(
            sts_pki.doctor, Holder("SSIN", DOCTOR), RegistryFacts(session), TokenRequest(()), T0
        )
    pem = tmp_path / "sts.pem"
    pem.write_bytes(credential.certificate.public_bytes(serialization.Encoding.PEM))
    assert xmlsec_verify(issued.xml, pem).returncode == 0
    verify_assertion(issued.xml, credential.certificate, sts_pki.doctor, T0)
    pkcs11_sessions.close_sessions()

"""A doctor with a PKCS#12 eID requests a certificate over HTTP; refusals say why."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ehcert.client.eid import Pkcs12EidCredential
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.certificates import request_certificate
from ehcert.operations import issue_test_eid
from ehcert.pki.keystore import read_keystore_file

DOCTOR = "79021802145"
PASSWORD = "correct horse battery staple"


def _doctor_eid(env, tmp_path: Path, ssin: str = DOCTOR) -> Pkcs12EidCredential:
    path = tmp_path / f"{ssin}.p12"
    issue_test_eid(env.platform, ssin, "1234", first_name="Bryan", last_name="Brouckaert", out=path)
    return Pkcs12EidCredential.from_file(path, "1234")


def _add_doctor(env, ssin: str = DOCTOR, status: str = "validated") -> None:
    env.registry.add_provider(
        ssin, "10012345001", "doctor", "Bryan", "Brouckaert", status=status, now=env.clock.now()
    )


def test_doctor_gets_a_36_month_ehealth_certificate(env, tmp_path: Path) -> None:
    _add_doctor(env)
    credential = _doctor_eid(env, tmp_path)
    with env.client() as client:
        path = request_certificate(
            client,
            credential,
            institution=None,
            application_id=None,
            out_dir=tmp_path / "ks",
            password=PASSWORD,
            now=env.clock.now(),
        )
    assert path.name.startswith("SSIN=79021802145 ") and path.name.endswith(".acc-p12")
    assert path.stat().st_mode & 0o777 == 0o600
    keystore = read_keystore_file(path, PASSWORD)
    cert = keystore.authentication().certificate
    assert [a.rfc4514_string() for a in cert.subject] == [
        "C=BE",
        "O=Federal Government",
        "OU=SSIN=79021802145",
        "OU=BRYAN BROUCKAERT",
        "OU=eHealth-platform Belgium",
        "CN=SSIN=79021802145",
    ]
    assert cert.not_valid_after_utc == cert.not_valid_before_utc.replace(year=2029)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
    assert cert.serial_number.bit_length() >= 120


def test_person_not_in_registry_is_refused(env, tmp_path: Path) -> None:
    credential = _doctor_eid(env, tmp_path)
    with env.client() as client, pytest.raises(EhcertError) as refused:
        request_certificate(
            client,
            credential,
            institution=None,
            application_id=None,
            out_dir=tmp_path / "ks",
            password=PASSWORD,
            now=env.clock.now(),
        )
    assert refused.value.kind is ErrorKind.NOT_IN_REGISTRY
    assert "79021802145 is not in the registry" in refused.value.detail
    assert not (tmp_path / "ks").exists() or not any((tmp_path / "ks").iterdir())

"""Profiles: sign what the builders make, then let OpenSSL and pkilint judge the result."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pkilint import loader
from pkilint.pkix import certificate as pkix_certificate
from pkilint.pkix import extension as pkix_extension
from pkilint.pkix import name as pkix_name
from pkilint.validation import ValidationFindingSeverity

from ehcert.pki import eid_profiles, profiles


def _pem(path: Path, *certificates: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates))
    return path


def _openssl_verify(
    tmp_path: Path,
    root: x509.Certificate,
    intermediate: x509.Certificate,
    leaf: x509.Certificate,
    at: dt.datetime,
    purpose: str,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "openssl",
            "verify",
            "-x509_strict",
            "-purpose",
            purpose,
            "-attime",
            str(int(at.timestamp())),
            "-CAfile",
            str(_pem(tmp_path / "root.pem", root)),
            "-untrusted",
            str(_pem(tmp_path / "intermediate.pem", intermediate)),
            str(_pem(tmp_path / "leaf.pem", leaf)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _openssl_text(tmp_path: Path, certificate: x509.Certificate) -> str:
    result = subprocess.run(
        [
            "openssl",
            "x509",
            "-noout",
            "-text",
            "-nameopt",
            "RFC2253",
            "-in",
            str(_pem(tmp_path / "cert.pem", certificate)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return " ".join(result.stdout.split())  # one line, single spaces


def _pkilint_findings(certificate: x509.Certificate) -> list[str]:
    """Findings above INFO from pkilint's RFC 5280 certificate validators."""
    validator = pkix_certificate.create_pkix_certificate_validator_container(
        pkix_certificate.create_decoding_validators(
            pkix_name.ATTRIBUTE_TYPE_MAPPINGS, pkix_extension.EXTENSION_MAPPINGS
        ),
        [
            pkix_certificate.create_issuer_validator_container([]),
            pkix_certificate.create_validity_validator_container(),
            pkix_certificate.create_subject_validator_container([]),
            pkix_certificate.create_extensions_validator_container([]),
            pkix_certificate.create_spki_validator_container([]),
        ],
    )
    document = loader.RFC5280CertificateDocumentLoader().load_der_document(
        certificate.public_bytes(serialization.Encoding.DER)
    )
    return [
        f"{result.node.path}: {finding}"
        for result in validator.validate(document.root)
        for finding in result.finding_descriptions
        if finding.finding.severity != ValidationFindingSeverity.INFO
    ]


def test_ehealth_authentication_chain_verifies_with_openssl(tmp_path, ehealth_pki, moment):
    result = _openssl_verify(
        tmp_path, ehealth_pki.root, ehealth_pki.issuing, ehealth_pki.auth, moment, "sslclient"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("leaf.pem: OK")


def test_openssl_refuses_the_same_chain_after_expiry(tmp_path, ehealth_pki):
    later = ehealth_pki.auth.not_valid_after_utc + dt.timedelta(days=1)
    result = _openssl_verify(
        tmp_path, ehealth_pki.root, ehealth_pki.issuing, ehealth_pki.auth, later, "sslclient"
    )
    assert result.returncode != 0
    assert "certificate has expired" in result.stdout + result.stderr


def test_ocsp_signer_chain_verifies_with_openssl(tmp_path, ehealth_pki, moment):
    result = _openssl_verify(
        tmp_path,
        ehealth_pki.root,
        ehealth_pki.issuing,
        ehealth_pki.ocsp_signer,
        moment,
        "ocsphelper",
    )
    assert result.returncode == 0, result.stderr


def test_eid_chain_verifies_with_openssl(tmp_path, eid_pki, moment):
    result = _openssl_verify(
        tmp_path, eid_pki.root, eid_pki.citizen_ca, eid_pki.auth, moment, "sslclient"
    )
    assert result.returncode == 0, result.stderr


def test_root_ca_extensions(tmp_path, ehealth_pki):
    text = _openssl_text(tmp_path, ehealth_pki.root)
    assert "X509v3 Basic Constraints: critical CA:TRUE, pathlen:1" in text
    assert "X509v3 Key Usage: critical Certificate Sign, CRL Sign" in text
    root = ehealth_pki.root
    assert "X509v3 Subject Key Identifier:" in text
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = root.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert root.issuer == root.subject


def test_issuing_ca_extensions(tmp_path, ehealth_pki):
    text = _openssl_text(tmp_path, ehealth_pki.issuing)
    assert "X509v3 Basic Constraints: critical CA:TRUE, pathlen:0" in text
    assert "X509v3 Key Usage: critical Certificate Sign, CRL Sign X509v3" in text
    assert "Full Name: URI:http://crl.example.test/root.crl" in text
    assert "CA Issuers - URI:http://certs.example.test/root.crt" in text
    root_ski = ehealth_pki.root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    aki = ehealth_pki.issuing.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert aki.value.key_identifier == root_ski.value.digest


def test_issuing_ca_may_sign_ocsp_itself_when_asked(keys, ehealth_pki, moment):
    builder = profiles.issuing_ca_builder(
        ehealth_pki.issuing.subject,
        keys.issuing.public_key(),
        ehealth_pki.root,
        serial=profiles.random_serial(),
        not_before=moment,
        not_after=moment + dt.timedelta(1),
        crl_url="http://crl.example.test/root.crl",
        ca_issuers_url="http://certs.example.test/root.crt",
        signs_ocsp_responses=True,
    )
    usage = builder.sign(keys.root, hashes.SHA256()).extensions.get_extension_for_class(
        x509.KeyUsage
    )
    assert usage.value.digital_signature and usage.value.key_cert_sign


def test_ehealth_authentication_extensions(tmp_path, ehealth_pki):
    text = _openssl_text(tmp_path, ehealth_pki.auth)
    assert "X509v3 Key Usage: critical Digital Signature, Non Repudiation, Key Encipherment" in text
    assert "X509v3 Extended Key Usage: TLS Web Client Authentication, E-mail Protection" in text
    assert "X509v3 Basic Constraints: critical CA:FALSE" in text
    assert "Full Name: URI:http://crl.example.test/issuing.crl" in text
    assert "OCSP - URI:http://ocsp.example.test" in text
    assert "CA Issuers - URI:http://certs.example.test/issuing.crt" in text
    assert "X509v3 Certificate Policies: Policy: 1.3.6.1.4.1.32473.1.1" in text
    assert "X509v3 Subject Key Identifier" in text
    assert "X509v3 Authority Key Identifier" in text


def test_ehealth_encryption_certificate_is_signed_by_the_authentication_key(tmp_path, ehealth_pki):
    encryption, auth = ehealth_pki.encryption, ehealth_pki.auth
    encryption.verify_directly_issued_by(auth)  # raises if the auth key did not sign it
    assert encryption.subject == encryption.issuer == auth.subject
    text = _openssl_text(tmp_path, encryption)
    assert "X509v3 Key Usage: critical Key Encipherment, Data Encipherment" in text
    assert "Extended Key Usage" not in text
    aki = encryption.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = auth.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_encryption_builder_refuses_another_subject(keys, ehealth_pki, moment):
    with pytest.raises(ValueError, match="subject must equal"):
        profiles.ehealth_encryption_builder(
            ehealth_pki.issuing.subject,
            keys.encryption.public_key(),
            ehealth_pki.auth,
            serial=1,
            not_before=moment,
            not_after=moment + dt.timedelta(days=1),
        )


def test_ocsp_signer_extensions(tmp_path, ehealth_pki):
    text = _openssl_text(tmp_path, ehealth_pki.ocsp_signer)
    assert "X509v3 Key Usage: critical Digital Signature X509v3" in text
    assert "X509v3 Extended Key Usage: OCSP Signing" in text
    assert "OCSP No Check" in text
    assert "X509v3 Basic Constraints: critical CA:FALSE" in text


def test_ocsp_signer_life_is_bounded(keys, ehealth_pki, moment):
    with pytest.raises(ValueError, match="at most 90 days"):
        profiles.ocsp_signer_builder(
            ehealth_pki.ocsp_signer.subject,
            keys.other.public_key(),
            ehealth_pki.issuing,
            serial=profiles.random_serial(),
            not_before=moment,
            not_after=moment + dt.timedelta(days=91),
        )


def test_eid_authentication_subject_and_extensions(tmp_path, eid_pki):
    subject = eid_pki.auth.subject
    values = {attribute.oid: attribute.value for attribute in subject}
    assert values == {
        NameOID.COUNTRY_NAME: "BE",
        NameOID.COMMON_NAME: "Frederik Libert (Authentication)",
        NameOID.SURNAME: "Libert",
        NameOID.GIVEN_NAME: "Frederik Eugeen",
        NameOID.SERIAL_NUMBER: "76120902527",
    }
    text = _openssl_text(tmp_path, eid_pki.auth)
    assert "serialNumber=76120902527,GN=Frederik Eugeen,SN=Libert" in text
    assert "X509v3 Key Usage: critical Digital Signature X509v3" in text
    assert "X509v3 Extended Key Usage: TLS Web Client Authentication" in text
    extended = eid_pki.auth.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(extended) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert "Full Name: URI:http://crl.eid.example.test/citizen.crl" in text


def test_eid_citizen_ca_extensions(tmp_path, eid_pki):
    text = _openssl_text(tmp_path, eid_pki.citizen_ca)
    assert "X509v3 Basic Constraints: critical CA:TRUE, pathlen:0" in text
    assert "X509v3 Key Usage: critical Certificate Sign, CRL Sign" in text
    assert "X509v3 Extended Key Usage: TLS Web Client Authentication, E-mail Protection" in text


def test_eid_builder_validates_the_ssin(keys, eid_pki, moment):
    with pytest.raises(ValueError, match="mod-97"):
        eid_profiles.eid_authentication_builder(
            "76120902528",
            "Frederik",
            "Libert",
            keys.other.public_key(),
            eid_pki.citizen_ca,
            serial=1,
            not_before=moment,
            not_after=moment + dt.timedelta(days=1),
            crl_url="http://crl.eid.example.test/citizen.crl",
        )


def test_every_profile_is_silent_under_pkilint_rfc5280(ehealth_pki, eid_pki):
    certificates = {
        "root": ehealth_pki.root,
        "issuing": ehealth_pki.issuing,
        "auth": ehealth_pki.auth,
        "encryption": ehealth_pki.encryption,
        "ocsp": ehealth_pki.ocsp_signer,
        "eid root": eid_pki.root,
        "citizen ca": eid_pki.citizen_ca,
        "eid auth": eid_pki.auth,
    }
    findings = {label: _pkilint_findings(c) for label, c in certificates.items()}
    assert findings == {label: [] for label in certificates}


def test_random_serial_is_positive_20_octets_and_fresh():
    serials = [profiles.random_serial() for _ in range(200)]
    assert len(set(serials)) == 200
    for serial in serials:
        assert 2**158 <= serial < 2**159
        assert len(serial.to_bytes(20, "big", signed=True)) == 20


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"not_before": dt.datetime(2030, 1, 1)}, ValueError, "timezone-aware"),
        ({"not_after": dt.datetime(2029, 1, 1, tzinfo=dt.UTC)}, ValueError, "later than"),
        ({"serial": 0}, ValueError, "positive"),
        ({"serial": 2**159}, ValueError, "below 2\\*\\*159"),
        ({"serial": "1"}, TypeError, "serial must be an int"),
        ({"subject": "CN=x"}, TypeError, "subject must be an x509.Name"),
    ],
)
def test_builders_refuse_bad_arguments(keys, changes, error, message):
    arguments: dict[str, object] = {
        "subject": x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Root")]),
        "public_key": keys.root.public_key(),
        "serial": 5,
        "not_before": dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        "not_after": dt.datetime(2031, 1, 1, tzinfo=dt.UTC),
    }
    arguments.update(changes)
    with pytest.raises(error, match=message):
        profiles.root_ca_builder(**arguments)  # type: ignore[arg-type]


def test_ec_encryption_certificate_asserts_key_agreement_only(keys, ehealth_pki, moment):
    """RFC 5480 section 3: an EC key agrees keys (RFC 5753); keyEncipherment is RSA's."""
    builder = profiles.ehealth_encryption_builder(
        ehealth_pki.auth.subject,
        keys.ec_p256.public_key(),
        ehealth_pki.auth,
        serial=1,
        not_before=moment,
        not_after=moment + dt.timedelta(days=1),
    )
    usage = builder.sign(keys.ec_p256, hashes.SHA256()).extensions.get_extension_for_class(
        x509.KeyUsage
    )
    assert usage.critical and usage.value.key_agreement
    assert not usage.value.key_encipherment and not usage.value.data_encipherment


def test_builders_take_other_timezones_and_store_utc(keys):
    brussels = dt.timezone(dt.timedelta(hours=1))
    certificate = profiles.root_ca_builder(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Root")]),
        keys.root.public_key(),
        serial=7,
        not_before=dt.datetime(2030, 1, 1, 1, 0, tzinfo=brussels),
        not_after=dt.datetime(2031, 1, 1, 1, 0, tzinfo=brussels),
    ).sign(keys.root, hashes.SHA256())
    assert certificate.not_valid_before_utc == dt.datetime(2030, 1, 1, 0, 0, tzinfo=dt.UTC)

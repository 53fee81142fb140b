"""The one environment check (``pki.environments``): what it recognises, what it refuses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.environments import (
    ENVIRONMENTS,
    EnvironmentCheck,
    hierarchy_common_name,
    hierarchy_name_prefix,
)
from ehcert.settings import DEFAULT_POLICY_OIDS, Settings

KEY = ec.generate_private_key(ec.SECP256R1())
START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def _certificate(
    subject: str, issuer: str, policy: str | None = None, serial: int = 0x1D
) -> x509.Certificate:
    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer))
        .public_key(KEY.public_key())
        .serial_number(serial)
        .not_valid_before(START)
        .not_valid_after(START + dt.timedelta(days=1))
    )
    if policy is not None:
        policies = x509.CertificatePolicies(
            [x509.PolicyInformation(x509.ObjectIdentifier(policy), None)]
        )
        builder = builder.add_extension(policies, critical=False)
    return builder.sign(KEY, hashes.SHA256())


def _check(environment: str) -> EnvironmentCheck:
    return EnvironmentCheck(environment, DEFAULT_POLICY_OIDS)


def test_the_policy_oid_says_the_environment_before_any_name() -> None:
    leaf = _certificate(
        "Bryan Brouckaert", "ehcert Acceptance Issuing CA", DEFAULT_POLICY_OIDS["production"]
    )
    assert _check("acceptance").environment_of(leaf) == "production"


@pytest.mark.parametrize(
    ("subject", "issuer", "expected"),
    [
        ("ehcert Production STS", "ehcert Production Issuing CA", "production"),
        ("Bryan Brouckaert (Authentication)", "ehcert Acceptance Test Citizen CA", "acceptance"),
        ("ehcert Acceptance Root CA", "ehcert Acceptance Root CA", "acceptance"),
        ("ehcert Acceptance TEST STS", "ehcert Acceptance TEST Issuing CA", "acceptance"),
        ("Bryan Brouckaert (Authentication)", "Citizen CA", None),
        ("ehcert Staging STS", "ehcert Staging Issuing CA", None),
    ],
)
def test_the_hierarchy_names_say_it_without_a_policy(
    subject: str, issuer: str, expected: str | None
) -> None:
    assert _check("acceptance").environment_of(_certificate(subject, issuer)) == expected


def test_the_other_environment_is_refused_with_wrong_environment() -> None:
    leaf = _certificate("Bryan", "ehcert Production Issuing CA", serial=0xABC)
    _check("production").refuse_other(leaf)  # its own
    with pytest.raises(EhcertError) as refused:
        _check("acceptance").refuse_other(leaf, "The STS assertion's signer")
    assert refused.value.kind is ErrorKind.WRONG_ENVIRONMENT
    assert refused.value.detail.startswith(
        "The STS assertion's signer abc belongs to the production environment, but this "
        "platform is the acceptance environment (wrong environment)"
    )


def test_a_certificate_of_neither_environment_is_left_to_path_validation() -> None:
    leaf = _certificate("Bryan Brouckaert (Authentication)", "Citizen CA 202301")
    assert not _check("production").is_other(leaf)
    _check("production").refuse_other(leaf)


@pytest.mark.parametrize(
    ("environment", "oids", "message"),
    [
        ("staging", DEFAULT_POLICY_OIDS, "environment must be one of"),
        ("acceptance", {"acceptance": "1.2.3"}, "policy_oids must name exactly"),
        ("acceptance", {"acceptance": "1.2.3", "production": "1.2.3"}, "its own policy OID"),
        ("acceptance", {"acceptance": "1.2.3", "production": "x"}, "policy_oids['production']"),
    ],
)
def test_a_wrong_setting_is_refused_naming_it(
    environment: str, oids: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        EnvironmentCheck(environment, oids)


def test_the_name_prefix_is_the_hierarchy_s() -> None:
    assert hierarchy_name_prefix("production") == "ehcert Production "
    assert hierarchy_common_name("acceptance", "Root CA") == "ehcert Acceptance TEST Root CA"
    assert hierarchy_common_name("production", "Root CA") == "ehcert Production Root CA"
    assert (
        hierarchy_common_name("acceptance", "Test Citizen CA")
        == "ehcert Acceptance Test Citizen CA"
    )
    with pytest.raises(ValueError, match="environment must be one of"):
        hierarchy_name_prefix("staging")


def test_the_settings_refuse_one_policy_oid_for_both_environments(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="policy_oid_acceptance and policy_oid_production"):
        Settings(data_dir=tmp_path, policy_oid_acceptance="1.2.3", policy_oid_production="1.2.3")
    with pytest.raises(ValidationError, match="dotted digits"):
        Settings(data_dir=tmp_path, policy_oid_production="1.2.x")
    settings = Settings(data_dir=tmp_path, policy_oid_production="1.2.4")
    check = EnvironmentCheck(
        settings.environment, {name: settings.policy_oid(name) for name in ENVIRONMENTS}
    )
    assert check.policy_oids["production"] == "1.2.4"

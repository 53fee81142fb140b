"""Fixtures for the pure-PKI tests: session keys and two hierarchies built from profiles.

Every RSA key is generated once per session. All times derive from ``MOMENT``; nothing
depends on today's date. Certificates are signed directly with ``cryptography``
(``builder.sign(key, hashes.SHA256())``), independently of ``pki.signing``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ehcert.pki import eid_profiles, profiles

MOMENT = dt.datetime(2030, 1, 15, 12, 0, tzinfo=dt.UTC)
POLICY_OID = "1.3.6.1.4.1.32473.1.1"  # RFC 5612 example enterprise number
EID_POLICY_OID = "1.3.6.1.4.1.32473.2.2"
SSIN = "76120902527"


def name(common_name: str, organization: str = "Example eHealth Test") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def sign(builder: x509.CertificateBuilder, key: rsa.RSAPrivateKey) -> x509.Certificate:
    return builder.sign(key, hashes.SHA256())


@pytest.fixture(scope="session")
def moment() -> dt.datetime:
    return MOMENT


@dataclass(frozen=True)
class Keys:
    root: rsa.RSAPrivateKey
    issuing: rsa.RSAPrivateKey
    leaf: rsa.RSAPrivateKey
    other: rsa.RSAPrivateKey
    encryption: rsa.RSAPrivateKey
    rsa_3072: rsa.RSAPrivateKey
    rsa_4096: rsa.RSAPrivateKey
    rsa_1024: rsa.RSAPrivateKey
    ec_p256: ec.EllipticCurvePrivateKey


@pytest.fixture(scope="session")
def keys() -> Keys:
    def generate(bits: int) -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)

    return Keys(
        root=generate(2048),
        issuing=generate(2048),
        leaf=generate(2048),
        other=generate(2048),
        encryption=generate(2048),
        rsa_3072=generate(3072),
        rsa_4096=generate(4096),
        rsa_1024=generate(1024),
        ec_p256=ec.generate_private_key(ec.SECP256R1()),
    )


@dataclass(frozen=True)
class EhealthPki:
    """Root -> issuing CA -> authentication certificate (+ encryption, OCSP signer)."""

    root: x509.Certificate
    issuing: x509.Certificate
    auth: x509.Certificate
    encryption: x509.Certificate
    ocsp_signer: x509.Certificate


@pytest.fixture(scope="session")
def ehealth_pki(keys: Keys) -> EhealthPki:
    root = sign(
        profiles.root_ca_builder(
            name("Test eHealth Root CA"),
            keys.root.public_key(),
            serial=profiles.random_serial(),
            not_before=MOMENT - dt.timedelta(days=3650),
            not_after=MOMENT + dt.timedelta(days=3650),
        ),
        keys.root,
    )
    issuing = sign(
        profiles.issuing_ca_builder(
            name("Test eHealth Issuing CA"),
            keys.issuing.public_key(),
            root,
            serial=profiles.random_serial(),
            not_before=MOMENT - dt.timedelta(days=1000),
            not_after=MOMENT + dt.timedelta(days=2000),
            crl_url="http://crl.example.test/root.crl",
            ca_issuers_url="http://certs.example.test/root.crt",
        ),
        keys.root,
    )
    auth = sign(
        profiles.ehealth_authentication_builder(
            name("SSIN=76120902527", "Federal Government"),
            keys.leaf.public_key(),
            issuing,
            serial=profiles.random_serial(),
            not_before=MOMENT - dt.timedelta(days=30),
            not_after=MOMENT + dt.timedelta(days=1065),
            crl_url="http://crl.example.test/issuing.crl",
            ocsp_url="http://ocsp.example.test",
            ca_issuers_url="http://certs.example.test/issuing.crt",
            policy_oid=POLICY_OID,
        ),
        keys.issuing,
    )
    encryption = sign(
        profiles.ehealth_encryption_builder(
            auth.subject,
            keys.encryption.public_key(),
            auth,
            serial=profiles.random_serial(),
            not_before=MOMENT - dt.timedelta(days=30),
            not_after=MOMENT + dt.timedelta(days=1065),
        ),
        keys.leaf,
    )
    ocsp_signer = sign(
        profiles.ocsp_signer_builder(
            name("Test eHealth OCSP Responder"),
            keys.other.public_key(),
            issuing,
            serial=profiles.random_serial(),
            not_before=MOMENT - dt.timedelta(days=1),
            not_after=MOMENT + dt.timedelta(days=29),
        ),
        keys.issuing,
    )
    return EhealthPki(root, issuing, auth, encryption, ocsp_signer)


@dataclass(frozen=True)
class EidPki:
    """Test Belgium root -> Citizen CA -> a citizen's authentication certificate."""

    root: x509.Certificate
    citizen_ca: x509.Certificate
    auth: x509.Certificate


@pytest.fixture(scope="session")
def eid_pki(keys: Keys) -> EidPki:
    root_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Test Belgium Root CA"),
        ]
    )
    root = sign(
        profiles.root_ca_builder(
            root_name,
            keys.rsa_4096.public_key(),
            serial=profiles.random_serial(),
            not_before=MOMENT - dt.timedelta(days=3650),
            not_after=MOMENT + dt.timedelta(days=3650),
        ),
        keys.rsa_4096,
    )
    citizen_ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Test Citizen CA"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "202901"),
        ]
    )
    citizen_ca = sign(
        eid_profiles.eid_citizen_ca_builder(
            citizen_ca_name,
            keys.rsa_3072.public_key(),
            root,
            serial=profiles.random_serial(),
            not_before=MOMENT - dt.timedelta(days=400),
            not_after=MOMENT + dt.timedelta(days=3400),
            crl_url="http://crl.eid.example.test/root.crl",
            ca_issuers_url="http://certs.eid.example.test/root.crt",
            policy_oid=EID_POLICY_OID,
        ),
        keys.rsa_4096,
    )
    auth = sign(
        eid_profiles.eid_authentication_builder(
            SSIN,
            "Frederik Eugeen",
            "Libert",
            keys.other.public_key(),
            citizen_ca,
            serial=profiles.random_serial(),
            not_before=MOMENT - dt.timedelta(days=365),
            not_after=MOMENT + dt.timedelta(days=3285),
            crl_url="http://crl.eid.example.test/citizen.crl",
            ocsp_url="http://ocsp.eid.example.test",
            ca_issuers_url="http://certs.eid.example.test/citizen.crt",
            policy_oid=EID_POLICY_OID + ".2",
        ),
        keys.rsa_3072,
    )
    return EidPki(root, citizen_ca, auth)

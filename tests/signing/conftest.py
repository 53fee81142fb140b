"""Fixtures for the signing machinery: keys, a real SoftHSM2 token, an eHealth hierarchy.

SoftHSM2 reads ``SOFTHSM2_CONF`` once, when the PKCS#11 module is first initialised in
the process, so the variable is set here at import time (unless something earlier in the
session already chose a configuration) and every token of this test area lives in that
directory. Keys are generated once per session. All times derive from ``MOMENT``.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ehcert.pki import pkcs11 as pki_pkcs11
from ehcert.pki import pkcs11_sessions, signing
from ehcert.pki.lint import LintProfile
from ehcert.pki.signer import PrivateKeySigner, Signer

_CREATED_CONF_DIR: Path | None = None
if "SOFTHSM2_CONF" not in os.environ:
    _CREATED_CONF_DIR = Path(tempfile.mkdtemp(prefix="ehcert-softhsm-"))
    os.environ["SOFTHSM2_CONF"] = str(_CREATED_CONF_DIR / "softhsm2.conf")

MOMENT = dt.datetime(2030, 1, 15, 12, 0, tzinfo=dt.UTC)
TEST_POLICY = x509.ObjectIdentifier("1.3.6.1.4.1.32473.1.1")  # RFC 5612 example PEN
SO_PIN = "87654321"
USER_PIN = "123456"


def _name(*parts: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in parts])


ROOT_NAME = _name(
    (NameOID.COUNTRY_NAME, "BE"),
    (NameOID.ORGANIZATION_NAME, "ehcert test"),
    (NameOID.COMMON_NAME, "ehcert test Root CA"),
)
ISSUING_NAME = _name(
    (NameOID.COUNTRY_NAME, "BE"),
    (NameOID.ORGANIZATION_NAME, "ehcert test"),
    (NameOID.COMMON_NAME, "ehcert test eHealth issuing CA"),
)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _ski(key: rsa.RSAPublicKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key)


def _aki(issuer_key: rsa.RSAPublicKey) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier(_ski(issuer_key).digest, None, None)


def _base(
    subject: x509.Name, issuer: x509.Name, key: rsa.RSAPublicKey, days: int
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(MOMENT - dt.timedelta(days=1))
        .not_valid_after(MOMENT + dt.timedelta(days=days))
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(False, False, False, False, False, True, True, False, False)


Extensions = list[tuple[x509.ExtensionType, bool]]


def _with(
    builder: x509.CertificateBuilder, extensions: Extensions, omit: frozenset[type]
) -> x509.CertificateBuilder:
    """Add ``extensions`` except those whose type is in ``omit`` (to build bad profiles)."""
    for value, critical in extensions:
        if type(value) not in omit:
            builder = builder.add_extension(value, critical=critical)
    return builder


def root_builder(
    key: rsa.RSAPublicKey,
    *,
    omit: frozenset[type] = frozenset(),
    key_usage: x509.KeyUsage | None = None,
) -> x509.CertificateBuilder:
    extensions: Extensions = [
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (key_usage or _ca_key_usage(), True),
        (_ski(key), False),
        (_aki(key), False),
    ]
    return _with(_base(ROOT_NAME, ROOT_NAME, key, 7300), extensions, omit)


def issuing_builder(key: rsa.RSAPublicKey, root_key: rsa.RSAPublicKey) -> x509.CertificateBuilder:
    extensions: Extensions = [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (_ca_key_usage(), True),
        (_ski(key), False),
        (_aki(root_key), False),
        (_crl_dp("http://crl.ehcert.test/root.crl"), False),
    ]
    return _with(_base(ISSUING_NAME, ROOT_NAME, key, 3650), extensions, frozenset())


def _crl_dp(uri: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [x509.DistributionPoint([x509.UniformResourceIdentifier(uri)], None, None, None)]
    )


def end_entity_builder(
    key: rsa.RSAPublicKey, issuing_key: rsa.RSAPublicKey, *, omit: frozenset[type] = frozenset()
) -> x509.CertificateBuilder:
    """The eHealth authentication certificate profile of a care provider."""
    subject = _name(
        (NameOID.COUNTRY_NAME, "BE"),
        (NameOID.ORGANIZATION_NAME, "Federal Government"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "eHealth-platform Belgium"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "NIHII=10082910004"),
        (NameOID.COMMON_NAME, "NIHII=10082910004"),
    )
    ocsp_uri = x509.UniformResourceIdentifier("http://ocsp.ehcert.test")
    ca_uri = x509.UniformResourceIdentifier("http://ca.ehcert.test/issuing.crt")
    aia = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP, ocsp_uri),
            x509.AccessDescription(x509.AuthorityInformationAccessOID.CA_ISSUERS, ca_uri),
        ]
    )
    extensions: Extensions = [
        (x509.KeyUsage(True, True, True, False, False, False, False, False, False), True),
        (
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
            ),
            False,
        ),
        (_crl_dp("http://crl.ehcert.test/issuing.crl"), False),
        (aia, False),
        (x509.CertificatePolicies([x509.PolicyInformation(TEST_POLICY, None)]), False),
        (_ski(key), False),
        (_aki(issuing_key), False),
    ]
    return _with(_base(subject, ISSUING_NAME, key, 1095), extensions, omit)


def ocsp_signer_builder(
    key: rsa.RSAPublicKey, issuing_key: rsa.RSAPublicKey, *, omit: frozenset[type] = frozenset()
) -> x509.CertificateBuilder:
    """A delegated OCSP responder certificate (RFC 6960 section 4.2.2.2)."""
    subject = _name(
        (NameOID.COUNTRY_NAME, "BE"),
        (NameOID.ORGANIZATION_NAME, "ehcert test"),
        (NameOID.COMMON_NAME, "ehcert test OCSP responder"),
    )
    extensions: Extensions = [
        (x509.KeyUsage(True, False, False, False, False, False, False, False, False), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), False),
        (x509.OCSPNoCheck(), False),
        (_ski(key), False),
        (_aki(issuing_key), False),
    ]
    return _with(_base(subject, ISSUING_NAME, key, 365), extensions, omit)


@dataclass(frozen=True)
class CaSigners:
    kind: str
    root: Signer
    issuing: Signer
    ocsp: Signer
    end_entity_key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class Hierarchy:
    signers: CaSigners
    root: x509.Certificate
    issuing: x509.Certificate
    end_entity: x509.Certificate
    ocsp_signer: x509.Certificate


@dataclass(frozen=True)
class SoftHsmToken:
    module: str
    label: str
    pin: str
    conf: Path


@pytest.fixture(scope="session")
def softhsm_conf_dir() -> Iterator[Path]:
    yield Path(os.environ["SOFTHSM2_CONF"]).parent
    pkcs11_sessions.close_sessions()
    if _CREATED_CONF_DIR is not None:
        shutil.rmtree(_CREATED_CONF_DIR, ignore_errors=True)


def new_token(conf_dir: Path, prefix: str) -> SoftHsmToken:
    label = f"{prefix}-{secrets.token_hex(4)}"
    conf = pki_pkcs11.init_softhsm_token(label, SO_PIN, USER_PIN, conf_dir)
    return SoftHsmToken(pki_pkcs11.SOFTHSM2_MODULE, label, USER_PIN, conf)


@pytest.fixture(scope="session")
def ca_token(softhsm_conf_dir: Path) -> SoftHsmToken:
    return new_token(softhsm_conf_dir, "ca")


@pytest.fixture(scope="session")
def end_entity_key() -> rsa.RSAPrivateKey:
    return _key()


@pytest.fixture(scope="session")
def file_signers(end_entity_key: rsa.RSAPrivateKey) -> CaSigners:
    return CaSigners(
        "file",
        PrivateKeySigner(_key()),
        PrivateKeySigner(_key()),
        PrivateKeySigner(_key()),
        end_entity_key,
    )


@pytest.fixture(scope="session")
def hsm_signers(ca_token: SoftHsmToken, end_entity_key: rsa.RSAPrivateKey) -> CaSigners:
    signers = {}
    for role in ("root", "issuing", "ocsp"):
        pki_pkcs11.generate_rsa_keypair_on_token(
            ca_token.module, ca_token.label, ca_token.pin, role, 2048
        )
        signers[role] = pki_pkcs11.Pkcs11Signer(ca_token.module, ca_token.label, role, ca_token.pin)
    return CaSigners("pkcs11", signers["root"], signers["issuing"], signers["ocsp"], end_entity_key)


def build_hierarchy(signers: CaSigners) -> Hierarchy:
    root_key = signers.root.public_key()
    issuing_key = signers.issuing.public_key()
    root = signing.sign_certificate(root_builder(root_key), signers.root, lint=LintProfile.ROOT_CA)
    issuing = signing.sign_certificate(
        issuing_builder(issuing_key, root_key), signers.root, lint=LintProfile.ISSUING_CA
    )
    end_entity = signing.sign_certificate(
        end_entity_builder(signers.end_entity_key.public_key(), issuing_key),
        signers.issuing,
        lint=LintProfile.END_ENTITY,
    )
    ocsp_signer = signing.sign_certificate(
        ocsp_signer_builder(signers.ocsp.public_key(), issuing_key),
        signers.issuing,
        lint=LintProfile.OCSP_SIGNER,
    )
    return Hierarchy(signers, root, issuing, end_entity, ocsp_signer)


@pytest.fixture(scope="session", params=["file_signers", "hsm_signers"], ids=["file", "pkcs11"])
def hierarchy(request: pytest.FixtureRequest) -> Hierarchy:
    """The whole eHealth hierarchy, signed once with file keys and once with HSM keys."""
    signers: CaSigners = request.getfixturevalue(request.param)
    return build_hierarchy(signers)


def crl_builder(h: Hierarchy, revoked_serial: int) -> x509.CertificateRevocationListBuilder:
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(revoked_serial)
        .revocation_date(MOMENT - dt.timedelta(hours=1))
        .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
        .build()
    )
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(h.issuing.subject)
        .last_update(MOMENT)
        .next_update(MOMENT + dt.timedelta(days=7))
        .add_revoked_certificate(entry)
        .add_extension(x509.CRLNumber(42), critical=False)
        .add_extension(_aki(h.signers.issuing.public_key()), critical=False)
    )


def ocsp_builder(
    h: Hierarchy, encoding: ocsp.OCSPResponderEncoding = ocsp.OCSPResponderEncoding.HASH
) -> ocsp.OCSPResponseBuilder:
    return (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=h.end_entity,
            issuer=h.issuing,
            algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=MOMENT,
            next_update=MOMENT + dt.timedelta(hours=12),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(encoding, h.ocsp_signer)
    )


class Profiles:
    """The builders above, handed to tests as a fixture (test modules cannot import
    conftest under ``--import-mode=importlib``)."""

    moment = MOMENT
    issuing_name = ISSUING_NAME
    root = staticmethod(root_builder)
    issuing = staticmethod(issuing_builder)
    end_entity = staticmethod(end_entity_builder)
    ocsp_signer = staticmethod(ocsp_signer_builder)
    crl = staticmethod(crl_builder)
    ocsp = staticmethod(ocsp_builder)


@pytest.fixture(scope="session")
def profiles() -> type[Profiles]:
    return Profiles


@dataclass(frozen=True)
class EidMaterial:
    """A Belgian-eID-shaped credential: Root -> Citizen CA -> Authentication certificate."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    citizen_ca: x509.Certificate
    root: x509.Certificate


@pytest.fixture(scope="session")
def eid_material() -> EidMaterial:
    """Shaped like the Belgian chain: the Citizen CA carries an EKU, the root no AKI."""
    root_key, ca_key, auth_key = _key(), _key(), _key()
    root_name = _name((NameOID.COUNTRY_NAME, "BE"), (NameOID.COMMON_NAME, "Test eID Root CA"))
    ca_name = _name((NameOID.COUNTRY_NAME, "BE"), (NameOID.COMMON_NAME, "Test Citizen CA"))
    holder = _name(
        (NameOID.COUNTRY_NAME, "BE"),
        (NameOID.COMMON_NAME, "Alice Specimen (Authentication)"),
        (NameOID.SURNAME, "Specimen"),
        (NameOID.GIVEN_NAME, "Alice"),
        (NameOID.SERIAL_NUMBER, "71715100070"),
    )
    client_auth = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    root_extensions: Extensions = [
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (_ca_key_usage(), True),
        (_ski(root_key.public_key()), False),
    ]
    root = signing.sign_certificate(
        _with(
            _base(root_name, root_name, root_key.public_key(), 3650), root_extensions, frozenset()
        ),
        PrivateKeySigner(root_key),
        lint=LintProfile.ROOT_CA,
    )
    ca_extensions: Extensions = [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (_ca_key_usage(), True),
        (
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
            ),
            False,
        ),
        (_ski(ca_key.public_key()), False),
        (_aki(root_key.public_key()), False),
    ]
    citizen_ca = signing.sign_certificate(
        _with(_base(ca_name, root_name, ca_key.public_key(), 3650), ca_extensions, frozenset()),
        PrivateKeySigner(root_key),
        lint=LintProfile.ISSUING_CA,
    )
    auth_extensions: Extensions = [
        (x509.KeyUsage(True, False, False, False, False, False, False, False, False), True),
        (client_auth, False),
        (_crl_dp("http://crl.eid.test/citizen.crl"), False),
        (_ski(auth_key.public_key()), False),
        (_aki(ca_key.public_key()), False),
    ]
    certificate = signing.sign_certificate(
        _with(_base(holder, ca_name, auth_key.public_key(), 3650), auth_extensions, frozenset()),
        PrivateKeySigner(ca_key),
        lint=LintProfile.EID_AUTHENTICATION,
    )
    return EidMaterial(auth_key, certificate, citizen_ca, root)


@pytest.fixture(scope="session")
def eid_token(softhsm_conf_dir: Path, eid_material: EidMaterial) -> SoftHsmToken:
    """A token laid out like a Belgian eID card as its middleware presents it."""
    token = new_token(softhsm_conf_dir, "eid")
    handle = pki_pkcs11.Pkcs11Token(token.module, token.label, token.pin)
    handle.import_rsa_private_key("Authentication", eid_material.key, eid_material.certificate)
    handle.import_certificate("CA", eid_material.citizen_ca)
    handle.import_certificate("Root", eid_material.root)
    return token

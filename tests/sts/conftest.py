"""STS fixtures: the session's CA hierarchy, an STS key and certificate its CA made, holder
certificates signed by its issuing CA, the SAML 1.1 schema and the ``xmlsec1`` tool.

Everything is made once per session from the template data directory (tests/conftest.py)
and at the fixed moment :data:`T0`; no test depends on today's date.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from ehcert.core.clock import FixedClock
from ehcert.core.identifiers import Holder, InstitutionId
from ehcert.core.names import institution_subject, person_subject
from ehcert.pki import profiles
from ehcert.platform import Platform
from ehcert.registry.service import RegistryService
from ehcert.settings import Settings
from ehcert.sts.keys import StsCredential

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
DOCTOR = "79021802145"
NURSE = "66010123462"
WITHDRAWN = "85073003328"
HOSPITAL = InstitutionId("NIHII-HOSPITAL", "71000436")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "soap" / "saml-sts"
ASSERTION_SCHEMA = FIXTURES / "oasis-sstc-saml-schema-assertion-1.1.xsd"


@dataclass(frozen=True)
class StsPki:
    """A platform's hierarchy with its STS credential and three holders' certificates.

    Its registry lists the doctor, the nurse, the hospital and a withdrawn doctor.
    """

    platform: Platform
    data_dir: Path
    credential: StsCredential
    sts_pem: Path
    doctor: x509.Certificate
    nurse: x509.Certificate
    hospital: x509.Certificate


def _pem_file(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="session")
def sts_pki(
    ca_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
    session_rsa_keys: list[rsa.RSAPrivateKey],
) -> Iterator[StsPki]:
    data_dir = tmp_path_factory.mktemp("sts-platform")
    shutil.copytree(ca_template, data_dir, dirs_exist_ok=True)
    settings = Settings(data_dir=data_dir, public_url="http://127.0.0.1:1")
    platform = Platform.open(settings, FixedClock(T0), initialise=False)
    issued = platform.ca.sts_credential(T0)
    credential = StsCredential(issued.certificate, issued.signer)

    def issue(subject: x509.Name, key: rsa.RSAPrivateKey) -> x509.Certificate:
        return platform.ca.sign_authentication(
            subject, key.public_key(), profiles.random_serial(), T0
        )

    registry = RegistryService(platform.database)
    registry.add_provider(DOCTOR, "10203040506", "doctor", "Bryan", "Brouckaert", now=T0)
    registry.add_provider(NURSE, "40203040506", "nurse", "Nora", "Nuyts", now=T0)
    registry.add_provider(WITHDRAWN, None, "doctor", "Wanda", "Weg", now=T0)
    registry.withdraw_provider(WITHDRAWN, now=T0)
    registry.add_institution(str(HOSPITAL), "AZ Sint-Jan Brugge", None, None, now=T0)
    hospital = Holder(HOSPITAL.type, HOSPITAL.value)
    yield StsPki(
        platform=platform,
        data_dir=data_dir,
        credential=credential,
        sts_pem=_pem_file(data_dir / "sts-published.pem", credential.certificate),
        doctor=issue(person_subject(DOCTOR, "Bryan", "Brouckaert"), session_rsa_keys[5]),
        nurse=issue(person_subject(NURSE, "Nora", "Nuyts"), session_rsa_keys[6]),
        hospital=issue(institution_subject(hospital, "AZ Sint-Jan Brugge"), session_rsa_keys[7]),
    )
    platform.database.dispose()


@pytest.fixture(scope="session")
def assertion_schema() -> etree.XMLSchema:
    """The OASIS SAML 1.1 assertion schema (it imports xmldsig-core-schema.xsd beside it)."""
    return etree.XMLSchema(etree.parse(str(ASSERTION_SCHEMA)))


XmlsecVerify = Callable[[bytes, Path], subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def xmlsec_verify(tmp_path_factory: pytest.TempPathFactory) -> XmlsecVerify:
    """Run ``xmlsec1 --verify`` on a token against one certificate's public key.

    ``--id-attr:AssertionID`` tells xmlsec1 which attribute is the ID the signature's
    ``Reference URI="#..."`` points at (SAML 1.1 declares it ``xs:ID`` in its schema,
    which xmlsec1 does not read).
    """
    if shutil.which("xmlsec1") is None:
        pytest.fail("xmlsec1 is not installed; run scripts/install-system-deps.sh")
    directory = tmp_path_factory.mktemp("xmlsec")

    def verify(token: bytes, certificate_pem: Path) -> subprocess.CompletedProcess[str]:
        path = directory / "token.xml"
        path.write_bytes(token)
        return subprocess.run(
            [
                "xmlsec1",
                "--verify",
                "--pubkey-cert-pem",
                str(certificate_pem),
                "--id-attr:AssertionID",
                "urn:oasis:names:tc:SAML:1.0:assertion:Assertion",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return verify

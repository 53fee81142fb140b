"""The STS service end to end below HTTP: the registry, the assertion, its signature.

Every assertion is checked three ways: against the OASIS SAML 1.1 schema (lxml), with the
``xmlsec1`` command-line tool against the published STS certificate, and with the SDK's
``verify_assertion``; tampering, a foreign key and the wrong holder are each refused.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree

from ehcert.client.sts import CLOCK_SKEW, verify_assertion
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder
from ehcert.pki.signer import PrivateKeySigner
from ehcert.registry.adapter import RegistryFacts
from ehcert.sts.attributes import CATALOGUE
from ehcert.sts.keys import StsCredential
from ehcert.sts.service import IssuedToken, SecurityTokenService, TokenRequest
from ehcert.sts.xmldsig import ECDSA_SHA384

from .conftest import DOCTOR, HOSPITAL, NURSE, T0, WITHDRAWN, StsPki, XmlsecVerify

DOCTOR_BOOL = "urn:be:fgov:person:ssin:doctor:boolean"
NURSE_BOOL = "urn:be:fgov:person:ssin:nurse:boolean"
SAML = "urn:oasis:names:tc:SAML:1.0:assertion"


@pytest.fixture(scope="module")
def service(sts_pki: StsPki) -> SecurityTokenService:
    return SecurityTokenService(
        sts_pki.credential,
        "http://127.0.0.1:1/sts",
        token_validity=dt.timedelta(hours=24),
        max_token_validity=dt.timedelta(hours=48),
    )


def _issue(
    pki: StsPki,
    service: SecurityTokenService,
    certificate: x509.Certificate,
    holder: Holder,
    names: list[str],
    validity: dt.timedelta | None = None,
) -> IssuedToken:
    request = TokenRequest(tuple(CATALOGUE.designator(n) for n in names), validity)
    with pki.platform.unit_of_work() as session:
        return service.issue(certificate, holder, RegistryFacts(session), request, T0)


def test_a_doctors_token_validates_and_verifies(
    sts_pki: StsPki,
    service: SecurityTokenService,
    assertion_schema: etree.XMLSchema,
    xmlsec_verify: XmlsecVerify,
) -> None:
    issued = _issue(
        sts_pki, service, sts_pki.doctor, Holder("SSIN", DOCTOR), [DOCTOR_BOOL, NURSE_BOOL]
    )
    assertion_schema.assertValid(etree.fromstring(issued.xml))
    checked = xmlsec_verify(issued.xml, sts_pki.sts_pem)
    assert checked.returncode == 0, checked.stderr
    assert "OK" in checked.stdout + checked.stderr
    token = verify_assertion(issued.xml, sts_pki.credential.certificate, sts_pki.doctor, T0)
    assert {a.name: a.value for a in token.attributes} == {DOCTOR_BOOL: True, NURSE_BOOL: False}
    assert token.not_before == T0
    assert token.not_on_or_after == T0 + dt.timedelta(hours=24)
    assert token.subject == sts_pki.doctor.subject.rfc4514_string()
    assert token.issuer == "http://127.0.0.1:1/sts"


def test_the_assertion_carries_what_ehealth_tokens_carry(
    sts_pki: StsPki, service: SecurityTokenService
) -> None:
    issued = _issue(sts_pki, service, sts_pki.nurse, Holder("SSIN", NURSE), [NURSE_BOOL])
    root = etree.fromstring(issued.xml)
    ns = {"saml": SAML, "ds": "http://www.w3.org/2000/09/xmldsig#"}
    assert root.get("AssertionID") == issued.assertion_id
    assert root.xpath("./saml:AuthenticationStatement/@AuthenticationMethod", namespaces=ns) == [
        "urn:oasis:names:tc:SAML:1.0:am:X509-PKI"
    ]
    methods = root.xpath(
        "./*/saml:Subject/saml:SubjectConfirmation/saml:ConfirmationMethod", namespaces=ns
    )
    assert [m.text for m in methods] == ["urn:oasis:names:tc:SAML:1.0:cm:holder-of-key"] * 2
    signature = root[-1]
    assert signature.tag == "{http://www.w3.org/2000/09/xmldsig#}Signature"
    algorithms = signature.xpath(".//@Algorithm")
    assert "http://www.w3.org/2001/10/xml-exc-c14n#" in algorithms
    assert "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" in algorithms
    assert "http://www.w3.org/2001/04/xmlenc#sha256" in algorithms
    assert signature.xpath("./ds:SignedInfo/ds:Reference/@URI", namespaces=ns) == [
        f"#{issued.assertion_id}"
    ]


def test_a_hospitals_token(
    sts_pki: StsPki,
    service: SecurityTokenService,
    assertion_schema: etree.XMLSchema,
    xmlsec_verify: XmlsecVerify,
) -> None:
    recognised = "urn:be:fgov:ehealth:1.0:hospital:nihii-number:recognisedhospital:boolean"
    issued = _issue(
        sts_pki,
        service,
        sts_pki.hospital,
        Holder(HOSPITAL.type, HOSPITAL.value),
        [],  # none named: the holder's identifiers
    )
    assertion_schema.assertValid(etree.fromstring(issued.xml))
    assert xmlsec_verify(issued.xml, sts_pki.sts_pem).returncode == 0
    token = verify_assertion(issued.xml, sts_pki.credential.certificate, sts_pki.hospital, T0)
    assert {a.name: a.value for a in token.attributes} == {
        "urn:be:fgov:ehealth:1.0:certificateholder:hospital:nihii-number": HOSPITAL.value,
        "urn:be:fgov:ehealth:1.0:hospital:nihii-number": HOSPITAL.value,
    }
    with_recognition = _issue(
        sts_pki,
        service,
        sts_pki.hospital,
        Holder(HOSPITAL.type, HOSPITAL.value),
        [recognised, DOCTOR_BOOL],
    )
    values = verify_assertion(
        with_recognition.xml, sts_pki.credential.certificate, sts_pki.hospital, T0
    )
    assert {a.name: a.value for a in values.attributes} == {recognised: True, DOCTOR_BOOL: False}


def test_no_granted_attribute_still_makes_a_valid_assertion(
    sts_pki: StsPki, service: SecurityTokenService, assertion_schema: etree.XMLSchema
) -> None:
    # A nurse asking only for a doctor's NIHII gets none: no AttributeStatement at all.
    issued = _issue(
        sts_pki,
        service,
        sts_pki.nurse,
        Holder("SSIN", NURSE),
        ["urn:be:fgov:person:ssin:ehealth:1.0:doctor:nihii11"],
    )
    root = etree.fromstring(issued.xml)
    assertion_schema.assertValid(root)
    assert root.find(f"{{{SAML}}}AttributeStatement") is None


def _tampered(xml: bytes, old: bytes, new: bytes) -> bytes:
    assert xml.count(old) >= 1
    return xml.replace(old, new, 1)


def test_tampering_breaks_the_signature(
    sts_pki: StsPki, service: SecurityTokenService, xmlsec_verify: XmlsecVerify
) -> None:
    issued = _issue(sts_pki, service, sts_pki.nurse, Holder("SSIN", NURSE), [DOCTOR_BOOL])
    forged = _tampered(issued.xml, b">false<", b">true<")
    checked = xmlsec_verify(forged, sts_pki.sts_pem)
    assert checked.returncode != 0
    with pytest.raises(EhcertError, match="signature does not verify") as refused:
        verify_assertion(forged, sts_pki.credential.certificate, sts_pki.nurse, T0)
    assert refused.value.kind is ErrorKind.UNAUTHORIZED
    later = _tampered(issued.xml, b'NotOnOrAfter="2026-03-03', b'NotOnOrAfter="2027-03-03')
    assert xmlsec_verify(later, sts_pki.sts_pem).returncode != 0


def test_another_key_does_not_verify(
    sts_pki: StsPki,
    service: SecurityTokenService,
    xmlsec_verify: XmlsecVerify,
    tmp_path: object,
) -> None:
    issued = _issue(sts_pki, service, sts_pki.doctor, Holder("SSIN", DOCTOR), [DOCTOR_BOOL])
    # The issuing CA's certificate is a real certificate, just not the STS's.
    issuing_pem = sts_pki.data_dir / "pki" / "acceptance" / "issuing.crt"
    assert xmlsec_verify(issued.xml, issuing_pem).returncode != 0
    with pytest.raises(EhcertError, match="signature does not verify"):
        verify_assertion(
            issued.xml, sts_pki.platform.hierarchy.issuing.certificate, sts_pki.doctor, T0
        )


def test_an_attribute_wrapped_in_after_signing_is_refused_or_unseen(
    sts_pki: StsPki, service: SecurityTokenService
) -> None:
    issued = _issue(sts_pki, service, sts_pki.nurse, Holder("SSIN", NURSE), [NURSE_BOOL])
    injected = (
        f'<saml:Attribute AttributeName="{DOCTOR_BOOL}" '
        'AttributeNamespace="urn:be:fgov:certified-namespace:ehealth">'
        '<saml:AttributeValue xsi:type="xs:boolean">true</saml:AttributeValue>'
        "</saml:Attribute></saml:AttributeStatement>"
    ).encode()
    forged = _tampered(issued.xml, b"</saml:AttributeStatement>", injected)
    with pytest.raises(EhcertError, match="signature does not verify"):
        verify_assertion(forged, sts_pki.credential.certificate, sts_pki.nurse, T0)


def test_time_and_holder_are_checked(sts_pki: StsPki, service: SecurityTokenService) -> None:
    issued = _issue(sts_pki, service, sts_pki.doctor, Holder("SSIN", DOCTOR), [DOCTOR_BOOL])
    sts = sts_pki.credential.certificate
    end = T0 + dt.timedelta(hours=24)
    verify_assertion(issued.xml, sts, sts_pki.doctor, T0 - CLOCK_SKEW)  # a slow clock
    verify_assertion(issued.xml, sts, sts_pki.doctor, end + CLOCK_SKEW - dt.timedelta(seconds=1))
    with pytest.raises(EhcertError, match="not valid before"):
        verify_assertion(issued.xml, sts, sts_pki.doctor, T0 - CLOCK_SKEW - dt.timedelta(seconds=1))
    with pytest.raises(EhcertError, match="expired at"):
        verify_assertion(issued.xml, sts, sts_pki.doctor, end + CLOCK_SKEW)
    with pytest.raises(EhcertError, match="bound to another certificate"):
        verify_assertion(issued.xml, sts, sts_pki.nurse, T0)


def test_validity_is_bounded_by_the_request_and_the_maximum(
    sts_pki: StsPki, service: SecurityTokenService
) -> None:
    holder = Holder("SSIN", DOCTOR)
    short = _issue(sts_pki, service, sts_pki.doctor, holder, [], dt.timedelta(hours=2))
    assert short.not_on_or_after == T0 + dt.timedelta(hours=2)
    capped = _issue(sts_pki, service, sts_pki.doctor, holder, [], dt.timedelta(hours=100))
    assert capped.not_on_or_after == T0 + dt.timedelta(hours=48)


def test_registry_refusals(sts_pki: StsPki, service: SecurityTokenService) -> None:
    with pytest.raises(EhcertError) as withdrawn:
        _issue(sts_pki, service, sts_pki.doctor, Holder("SSIN", WITHDRAWN), [])
    assert withdrawn.value.kind is ErrorKind.WITHDRAWN
    assert "withdrawn" in withdrawn.value.detail
    with pytest.raises(EhcertError) as unknown:
        _issue(sts_pki, service, sts_pki.doctor, Holder("SSIN", "90010100123"), [])
    assert unknown.value.kind is ErrorKind.NOT_IN_REGISTRY
    assert "90010100123" in unknown.value.detail
    with pytest.raises(EhcertError) as unknown_institution:
        _issue(sts_pki, service, sts_pki.hospital, Holder("NIHII-HOSPITAL", "71000535"), [])
    assert unknown_institution.value.kind is ErrorKind.NOT_IN_REGISTRY
    assert "NIHII-HOSPITAL=71000535" in unknown_institution.value.detail


def test_a_default_above_the_maximum_is_a_configuration_error(sts_pki: StsPki) -> None:
    with pytest.raises(EhcertError) as refused:
        SecurityTokenService(
            sts_pki.credential,
            "issuer",
            token_validity=dt.timedelta(hours=25),
            max_token_validity=dt.timedelta(hours=24),
        )
    assert refused.value.field == "sts_token_hours"


def test_an_sts_with_an_ec_key_signs_ecdsa_that_xmlsec1_verifies(
    sts_pki: StsPki, xmlsec_verify: XmlsecVerify, tmp_path: Path
) -> None:
    """The platform's STS key is RSA; one with an EC P-384 key signs ecdsa-sha384 with an
    ``r || s`` SignatureValue (XML-DSig 1.1 section 6.4.3), and both verifiers accept it."""
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EC STS")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(77)
        .not_valid_before(T0 - dt.timedelta(days=1))
        .not_valid_after(T0 + dt.timedelta(days=365))
        .sign(key, hashes.SHA384())
    )
    ec_service = SecurityTokenService(
        StsCredential(certificate, PrivateKeySigner(key)),
        "http://127.0.0.1:1/sts",
        token_validity=dt.timedelta(hours=24),
        max_token_validity=dt.timedelta(hours=48),
    )
    issued = _issue(sts_pki, ec_service, sts_pki.doctor, Holder("SSIN", DOCTOR), [DOCTOR_BOOL])
    assert ECDSA_SHA384.encode() in issued.xml
    pem = tmp_path / "ec-sts.pem"
    pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    checked = xmlsec_verify(issued.xml, pem)
    assert checked.returncode == 0, checked.stderr
    token = verify_assertion(issued.xml, certificate, sts_pki.doctor, T0)
    assert {a.name: a.value for a in token.attributes} == {DOCTOR_BOOL: True}

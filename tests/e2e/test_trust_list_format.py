"""The published trust list has the structure ETSI TS 119 612 (v2.1.1) requires.

The standard's XML schema (``ts_119612v020101_xsd.xsd``) ships in no Python or Debian
package this project can install, so it cannot be validated against here. Two checks
stand in for it, on the list as the platform serves it (``GET /v1/trust-list.xml``):

- the list is read, strictly (an unknown element or attribute is an error), into the
  data classes pyHanko generates from that schema (``pyhanko.generated.etsi``, with
  xsdata), which know its element names, namespaces and nesting. The signature is
  left out of that reading: pyHanko's XAdES classes come from the older TS 101 903
  schema, which lacks ``SigningCertificateV2`` of EN 319 132-1 (the XAdES baseline the
  list is signed with, ``pki.xades``); the signature's shape is checked below;
- what the schema's sequences and the standard's clause 5 require, element by element,
  as written out below: the root element and its ``TSLTag``
(5.1.1), the order and presence of each sequence's elements as the schema's types give
them (``TSLSchemeInformationType``, ``TSPInformationType``, ``AddressType``,
``PostalAddressType``, ``TSPServiceInformationType``), the values of the version
identifier (5.3.1: 5), sequence number (5.3.2: a positive integer), the dates in UTC
(5.1.4) with ``NextUpdate`` after the issue and at most six months later (5.3.15),
language tags on every multilingual name and URI (5.1.2), each service's certificate
as base64 DER (5.5.3), and an enveloped XML signature over the whole list (5.7).
"""

from __future__ import annotations

import base64
import datetime as dt
import re

import httpx
import pytest
from cryptography import x509
from lxml import etree
from pyhanko.generated.etsi.ts_119612 import TrustServiceStatusList
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig

from .conftest import RunningPlatform

pytestmark = pytest.mark.slow

TSL = "http://uri.etsi.org/02231/v2#"
DS = "http://www.w3.org/2000/09/xmldsig#"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
UTC_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")

# Each schema type's sequence, in order: (element, required).
SCHEME_INFORMATION = [
    ("TSLVersionIdentifier", True),
    ("TSLSequenceNumber", True),
    ("TSLType", True),
    ("SchemeOperatorName", True),
    ("SchemeOperatorAddress", True),
    ("SchemeName", True),
    ("SchemeInformationURI", True),
    ("StatusDeterminationApproach", True),
    ("SchemeTypeCommunityRules", False),
    ("SchemeTerritory", True),
    ("PolicyOrLegalNotice", True),
    ("HistoricalInformationPeriod", True),
    ("PointersToOtherTSL", False),
    ("ListIssueDateTime", True),
    ("NextUpdate", True),
    ("DistributionPoints", False),
    ("SchemeExtensions", False),
]
TSP_INFORMATION = [
    ("TSPName", True),
    ("TSPTradeName", False),
    ("TSPAddress", True),
    ("TSPInformationURI", True),
    ("TSPInformationExtensions", False),
]
ADDRESS = [("PostalAddresses", True), ("ElectronicAddress", True)]
POSTAL_ADDRESS = [
    ("StreetAddress", True),
    ("Locality", True),
    ("StateOrProvince", False),
    ("PostalCode", False),
    ("CountryName", True),
]
SERVICE_INFORMATION = [
    ("ServiceTypeIdentifier", True),
    ("ServiceName", True),
    ("ServiceDigitalIdentity", True),
    ("ServiceStatus", True),
    ("StatusStartingTime", True),
    ("SchemeServiceDefinitionURI", False),
    ("ServiceSupplyPoints", False),
    ("TSPServiceDefinitionURI", False),
    ("ServiceInformationExtensions", False),
]
MULTILINGUAL = ("Name", "TSLLegalNotice")  # InternationalNamesType, PolicyOrLegalnoticeType


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def check_sequence(
    element: etree._Element, sequence: list[tuple[str, bool]], what: str
) -> dict[str, etree._Element]:
    """``element``'s children are the schema type's sequence: in its order, each at most
    once, every required one present, nothing else, all in the TSL namespace."""
    children = [child for child in element if isinstance(child.tag, str)]
    for child in children:
        assert etree.QName(child).namespace == TSL, (what, child.tag)
    names = [_local(child) for child in children]
    order = [name for name, _ in sequence]
    assert all(name in order for name in names), (what, names)
    assert names == sorted(names, key=order.index), f"{what}: out of order: {names}"
    assert len(set(names)) == len(names), (what, names)
    missing = [name for name, required in sequence if required and name not in names]
    assert not missing, f"{what} lacks {missing}"
    return dict(zip(names, children, strict=True))


def _utc(text: str | None, what: str) -> dt.datetime:
    assert text is not None and UTC_DATE_TIME.fullmatch(text), (what, text)
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _check_address(address: etree._Element, what: str) -> None:
    parts = check_sequence(address, ADDRESS, what)
    postal = list(parts["PostalAddresses"])
    assert postal, f"{what}: no PostalAddress"
    for one in postal:
        assert _local(one) == "PostalAddress"
        assert one.get(XML_LANG), f"{what}: a PostalAddress without xml:lang"
        check_sequence(one, POSTAL_ADDRESS, f"{what}/PostalAddress")
    assert [_local(uri) for uri in parts["ElectronicAddress"]] == ["URI"], what


def test_the_published_trust_list_has_the_structure_of_ts_119_612(env: RunningPlatform) -> None:
    answer = httpx.get(env.url + "/v1/trust-list.xml")
    assert answer.status_code == 200
    root = etree.fromstring(answer.content)

    assert root.tag == f"{{{TSL}}}TrustServiceStatusList"
    assert root.get("TSLTag") == "http://uri.etsi.org/19612/TSLTag"
    top = [child.tag for child in root if isinstance(child.tag, str)]
    assert top == [
        f"{{{TSL}}}SchemeInformation",
        f"{{{TSL}}}TrustServiceProviderList",
        f"{{{DS}}}Signature",
    ]

    scheme = check_sequence(root[0], SCHEME_INFORMATION, "SchemeInformation")
    assert scheme["TSLVersionIdentifier"].text == "5"
    assert int(scheme["TSLSequenceNumber"].text or "0") >= 1
    assert scheme["SchemeTerritory"].text == "BE"
    assert int(scheme["HistoricalInformationPeriod"].text or "-1") >= 0
    _check_address(scheme["SchemeOperatorAddress"], "SchemeOperatorAddress")
    issued = _utc(scheme["ListIssueDateTime"].text, "ListIssueDateTime")
    (next_update,) = scheme["NextUpdate"]
    assert _local(next_update) == "dateTime"
    due = _utc(next_update.text, "NextUpdate")
    assert issued < due <= issued + dt.timedelta(days=183)  # six months at most (5.3.15)
    for name in ("SchemeInformationURI", "SchemeTypeCommunityRules"):
        if name in scheme:
            uris = list(scheme[name])
            assert uris and all(uri.get(XML_LANG) for uri in uris), name

    for element in root.iter(*(f"{{{TSL}}}{name}" for name in MULTILINGUAL)):
        assert element.get(XML_LANG) and (element.text or "").strip(), element.tag

    providers = list(root[1])
    assert providers and all(_local(p) == "TrustServiceProvider" for p in providers)
    services = 0
    for provider in providers:
        assert [_local(part) for part in provider] == ["TSPInformation", "TSPServices"]
        information = check_sequence(provider[0], TSP_INFORMATION, "TSPInformation")
        _check_address(information["TSPAddress"], "TSPAddress")
        for service in provider[1]:
            assert _local(service) == "TSPService"
            (service_information,) = [p for p in service if _local(p) == "ServiceInformation"]
            parts = check_sequence(service_information, SERVICE_INFORMATION, "ServiceInformation")
            assert (parts["ServiceTypeIdentifier"].text or "").startswith(("http://", "urn:"))
            assert (parts["ServiceStatus"].text or "").startswith("http://uri.etsi.org/")
            _utc(parts["StatusStartingTime"].text, "StatusStartingTime")
            (digital_id,) = parts["ServiceDigitalIdentity"]
            assert _local(digital_id) == "DigitalId"
            (encoded,) = digital_id
            assert _local(encoded) == "X509Certificate"
            x509.load_der_x509_certificate(base64.b64decode(encoded.text or "", validate=True))
            for extension in parts.get("ServiceInformationExtensions", ()):
                assert _local(extension) == "Extension"
                assert extension.get("Critical") in ("true", "false")
            services += 1
    assert services >= 5  # root, issuing CA, OCSP responder, ETK depot, STS, list signer

    signature = root[2]
    references = signature.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    whole = [r for r in references if r.get("URI") in ("", f"#{root.get('Id')}")]
    assert whole, "the signature covers no reference to the whole list"
    transforms = {
        t.get("Algorithm") for t in whole[0].findall(f"{{{DS}}}Transforms/{{{DS}}}Transform")
    }
    assert "http://www.w3.org/2000/09/xmldsig#enveloped-signature" in transforms


def test_the_list_reads_strictly_into_the_schemas_generated_bindings(
    env: RunningPlatform,
) -> None:
    parser = XmlParser(
        config=ParserConfig(fail_on_unknown_properties=True, fail_on_unknown_attributes=True)
    )
    root = etree.fromstring(httpx.get(env.url + "/v1/trust-list.xml").content)
    signature = root.find(f"{{{DS}}}Signature")
    assert signature is not None
    root.remove(signature)
    content = etree.tostring(root)
    parsed = parser.from_bytes(content, TrustServiceStatusList)
    assert parsed.tsltag == "http://uri.etsi.org/19612/TSLTag"
    scheme = parsed.scheme_information
    assert scheme is not None and scheme.tslversion_identifier == 5
    assert scheme.tslsequence_number is not None and scheme.tslsequence_number >= 1
    assert scheme.next_update is not None and scheme.next_update.date_time is not None
    providers = parsed.trust_service_provider_list
    assert providers is not None
    services = [
        service
        for provider in providers.trust_service_provider
        if provider.tspservices is not None
        for service in provider.tspservices.tspservice
    ]
    assert len(services) >= 5
    for service in services:
        information = service.service_information
        assert information is not None and information.service_name is not None
    # A misspelt element is what the bindings refuse.
    broken = content.replace(b"<tsl:SchemeTerritory>", b"<tsl:SchemeTerritoryX>").replace(
        b"</tsl:SchemeTerritory>", b"</tsl:SchemeTerritoryX>"
    )
    assert broken != content
    with pytest.raises(Exception, match="SchemeTerritoryX"):
        parser.from_bytes(broken, TrustServiceStatusList)


def test_the_check_catches_a_missing_or_misplaced_element(env: RunningPlatform) -> None:
    """The check itself, on two broken copies: one without a service's ServiceName
    (5.5.2), one with TSLType before TSLSequenceNumber."""
    root = etree.fromstring(httpx.get(env.url + "/v1/trust-list.xml").content)
    service = root.find(f".//{{{TSL}}}ServiceInformation")
    assert service is not None
    nameless = etree.fromstring(etree.tostring(service))
    nameless.remove(nameless.find(f"{{{TSL}}}ServiceName"))
    with pytest.raises(AssertionError, match=r"lacks \['ServiceName'\]"):
        check_sequence(nameless, SERVICE_INFORMATION, "ServiceInformation")
    scheme = etree.fromstring(etree.tostring(root[0]))
    scheme.insert(1, scheme.find(f"{{{TSL}}}TSLType"))
    with pytest.raises(AssertionError, match="out of order"):
        check_sequence(scheme, SCHEME_INFORMATION, "SchemeInformation")

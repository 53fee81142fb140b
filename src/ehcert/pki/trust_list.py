"""The platform's trust list in the ETSI TS 119 612 format: building and reading it.

One ``tsl:TrustServiceStatusList`` (namespace ``http://uri.etsi.org/02231/v2#``,
``TSLTag`` of TS 119 612 section 5.1.1) per environment, with

- ``SchemeInformation`` (section 5.3): version identifier 5, the ``TSLSequenceNumber``
  (5.3.2, incremented with every new list), ``ListIssueDateTime`` (5.3.14) and
  ``NextUpdate`` (5.3.15), by when a newer list will have been issued;
- one ``TrustServiceProvider`` (5.4), the platform, whose ``TSPService`` entries (5.5)
  each carry one certificate as ``ServiceDigitalIdentity``: the root CA, every issuing CA
  generation still valid, the OCSP responder, the ETK depot, the STS and the trust-list
  signer(s). ``ServiceTypeIdentifier`` (5.5.1) uses the ETSI URIs where one exists
  (``Svctype/CA/PKC``, ``Svctype/Certstatus/OCSP``) and this platform's own for the rest;
  a ``ServiceInformationExtensions`` entry (5.5.9) names the platform role and key
  generation, which the ETSI vocabulary has no word for.

A list's ``TrustListSigner`` services are the keys allowed to sign the *next* list: a
list signer rotation is announced by listing the new signer beside the current one
(:mod:`ehcert.client.trust_store` applies the rule). The XAdES signature is
:mod:`ehcert.pki.xades`'s; this module builds the unsigned document and reads a signed
element the signature has been verified over.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from ehcert.core.errors import EhcertError, ErrorKind

TSL = "http://uri.etsi.org/02231/v2#"
EHCERT_EXT = "urn:ehcert:trust-list:extensions"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
TSL_TAG = "http://uri.etsi.org/19612/TSLTag"
TSL_VERSION = 5
TSL_TYPE = "urn:ehcert:trust-list:type:{environment}"
GRANTED = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
STATUS_DETERMINATION = "http://uri.etsi.org/TrstSvc/TrustedList/StatusDetn/appropriate"
LIST_ID = "ehcert-trust-list"

CA_SERVICE = "http://uri.etsi.org/TrstSvc/Svctype/CA/PKC"
OCSP_SERVICE = "http://uri.etsi.org/TrstSvc/Svctype/Certstatus/OCSP"
ETK_DEPOT_SERVICE = "urn:ehcert:Svctype:ETKDepot"
STS_SERVICE = "urn:ehcert:Svctype:STS"
TRUST_LIST_SIGNER_SERVICE = "urn:ehcert:Svctype:TrustListSigner"
SERVICE_TYPES = {
    "root": CA_SERVICE,
    "issuing": CA_SERVICE,
    "ocsp": OCSP_SERVICE,
    "etk-depot": ETK_DEPOT_SERVICE,
    "sts": STS_SERVICE,
    "trust-list": TRUST_LIST_SIGNER_SERVICE,
}


def _t(tag: str) -> str:
    return f"{{{TSL}}}{tag}"


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lower-case hex (what ``trust show`` prints)."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


@dataclass(frozen=True)
class TrustService:
    """One certificate of the list: which platform role holds it, under which generation."""

    role: str
    generation: int
    certificate: x509.Certificate

    @property
    def service_type(self) -> str:
        return SERVICE_TYPES[self.role]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)


@dataclass(frozen=True)
class TrustList:
    """What a (verified) trust list says."""

    environment: str
    sequence: int
    issued: dt.datetime
    next_update: dt.datetime
    services: tuple[TrustService, ...]

    def of_role(self, role: str) -> tuple[TrustService, ...]:
        return tuple(service for service in self.services if service.role == role)

    @property
    def roots(self) -> tuple[x509.Certificate, ...]:
        return tuple(service.certificate for service in self.of_role("root"))

    @property
    def issuing_cas(self) -> tuple[x509.Certificate, ...]:
        return tuple(service.certificate for service in self.of_role("issuing"))

    @property
    def signers(self) -> tuple[x509.Certificate, ...]:
        """The certificates allowed to sign the next list (see the module docstring)."""
        return tuple(service.certificate for service in self.of_role("trust-list"))

    def certificate_set(self) -> frozenset[tuple[str, int, bytes]]:
        """Role, generation and DER of every service: what a new list must differ in."""
        return frozenset(
            (s.role, s.generation, s.certificate.public_bytes(serialization.Encoding.DER))
            for s in self.services
        )


# -- building -------------------------------------------------------------------------


def _names(parent: etree._Element, tag: str, text: str) -> None:
    holder = etree.SubElement(parent, _t(tag))
    etree.SubElement(holder, _t("Name"), {XML_LANG: "en"}).text = text


def _uris(parent: etree._Element, tag: str, uri: str, *, lang: bool = True) -> None:
    holder = etree.SubElement(parent, _t(tag))
    attributes = {XML_LANG: "en"} if lang else {}
    etree.SubElement(holder, _t("URI"), attributes).text = uri


def _address(parent: etree._Element, tag: str, operator: str, base_url: str) -> None:
    address = etree.SubElement(parent, _t(tag))
    postal = etree.SubElement(etree.SubElement(address, _t("PostalAddresses")), _t("PostalAddress"))
    postal.set(XML_LANG, "en")
    etree.SubElement(postal, _t("StreetAddress")).text = operator
    etree.SubElement(postal, _t("Locality")).text = "Brussels"
    etree.SubElement(postal, _t("CountryName")).text = "BE"
    _uris(address, "ElectronicAddress", base_url)


def _service(parent: etree._Element, service: TrustService) -> None:
    information = etree.SubElement(
        etree.SubElement(parent, _t("TSPService")), _t("ServiceInformation")
    )
    etree.SubElement(information, _t("ServiceTypeIdentifier")).text = service.service_type
    _names(information, "ServiceName", service.certificate.subject.rfc4514_string())
    digital_id = etree.SubElement(
        etree.SubElement(information, _t("ServiceDigitalIdentity")), _t("DigitalId")
    )
    etree.SubElement(digital_id, _t("X509Certificate")).text = base64.b64encode(
        service.certificate.public_bytes(serialization.Encoding.DER)
    ).decode("ascii")
    etree.SubElement(information, _t("ServiceStatus")).text = GRANTED
    etree.SubElement(information, _t("StatusStartingTime")).text = _utc(
        service.certificate.not_valid_before_utc
    )
    extensions = etree.SubElement(information, _t("ServiceInformationExtensions"))
    extension = etree.SubElement(extensions, _t("Extension"), Critical="false")
    role = etree.SubElement(
        extension, f"{{{EHCERT_EXT}}}PlatformRole", nsmap={"ehcert": EHCERT_EXT}
    )
    role.text = service.role
    role.set("generation", str(service.generation))


def build_trust_list(
    *,
    environment: str,
    base_url: str,
    sequence: int,
    issued: dt.datetime,
    next_update: dt.datetime,
    services: Sequence[TrustService],
) -> bytes:
    """The unsigned ``TrustServiceStatusList`` (sign it with :mod:`ehcert.pki.xades`)."""
    if sequence < 1:
        raise ValueError("the sequence number starts at 1 (TS 119 612 section 5.3.2)")
    if next_update <= issued:
        raise ValueError("NextUpdate must come after ListIssueDateTime")
    operator = f"ehcert {environment} platform"
    root = etree.Element(
        _t("TrustServiceStatusList"), nsmap={"tsl": TSL}, TSLTag=TSL_TAG, Id=LIST_ID
    )
    scheme = etree.SubElement(root, _t("SchemeInformation"))
    etree.SubElement(scheme, _t("TSLVersionIdentifier")).text = str(TSL_VERSION)
    etree.SubElement(scheme, _t("TSLSequenceNumber")).text = str(sequence)
    etree.SubElement(scheme, _t("TSLType")).text = TSL_TYPE.format(environment=environment)
    _names(scheme, "SchemeOperatorName", operator)
    _address(scheme, "SchemeOperatorAddress", operator, base_url)
    _names(scheme, "SchemeName", f"BE: eHealth certificates ({environment})")
    _uris(scheme, "SchemeInformationURI", f"{base_url}/v1/trust-list.xml")
    etree.SubElement(scheme, _t("StatusDeterminationApproach")).text = STATUS_DETERMINATION
    _uris(scheme, "SchemeTypeCommunityRules", f"{base_url}/docs")
    etree.SubElement(scheme, _t("SchemeTerritory")).text = "BE"
    policy = etree.SubElement(scheme, _t("PolicyOrLegalNotice"))
    etree.SubElement(
        policy, _t("TSLLegalNotice"), {XML_LANG: "en"}
    ).text = f"The certificates the {environment} platform signs with and trusts."
    etree.SubElement(scheme, _t("HistoricalInformationPeriod")).text = "0"
    etree.SubElement(scheme, _t("ListIssueDateTime")).text = _utc(issued)
    etree.SubElement(etree.SubElement(scheme, _t("NextUpdate")), _t("dateTime")).text = _utc(
        next_update
    )
    _uris(scheme, "DistributionPoints", f"{base_url}/v1/trust-list.xml", lang=False)
    provider = etree.SubElement(
        etree.SubElement(root, _t("TrustServiceProviderList")), _t("TrustServiceProvider")
    )
    information = etree.SubElement(provider, _t("TSPInformation"))
    _names(information, "TSPName", operator)
    _address(information, "TSPAddress", operator, base_url)
    _uris(information, "TSPInformationURI", base_url)
    listed = etree.SubElement(provider, _t("TSPServices"))
    for service in services:
        _service(listed, service)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# -- reading --------------------------------------------------------------------------


def _malformed(detail: str) -> EhcertError:
    return EhcertError(ErrorKind.MALFORMED, f"The trust list {detail}.", field="trust_list")


def _text(parent: etree._Element, path: str, what: str) -> str:
    found = parent.find(path, {"tsl": TSL})
    if found is None or not (found.text or "").strip():
        raise _malformed(f"has no {what}")
    return (found.text or "").strip()


def _moment(text: str, what: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _malformed(f"has a {what} that is no date and time: {text!r}") from None
    if moment.tzinfo is None:
        raise _malformed(f"has a {what} without a time zone")
    return moment.astimezone(dt.UTC)


def _read_service(element: etree._Element) -> TrustService:
    information = element.find(_t("ServiceInformation"))
    if information is None:
        raise _malformed("has a TSPService without ServiceInformation")
    service_type = _text(information, "tsl:ServiceTypeIdentifier", "ServiceTypeIdentifier")
    encoded = _text(
        information,
        "tsl:ServiceDigitalIdentity/tsl:DigitalId/tsl:X509Certificate",
        "service certificate",
    )
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(encoded, validate=True))
    except ValueError:
        raise _malformed("has a service certificate that cannot be read") from None
    role_element = information.find(
        f"{_t('ServiceInformationExtensions')}/{_t('Extension')}/{{{EHCERT_EXT}}}PlatformRole"
    )
    if role_element is None or (role_element.text or "").strip() not in SERVICE_TYPES:
        raise _malformed(f"names no platform role for the service of type {service_type}")
    role = (role_element.text or "").strip()
    if SERVICE_TYPES[role] != service_type:
        raise _malformed(f"gives the {role} service the type {service_type}")
    try:
        generation = int(role_element.get("generation", ""))
    except ValueError:
        raise _malformed(f"gives the {role} service no key generation") from None
    return TrustService(role, generation, certificate)


def read_trust_list(root: etree._Element) -> TrustList:
    """What the (signature-verified) ``TrustServiceStatusList`` element says.

    Each field the client relies on is checked: a missing or malformed one is MALFORMED
    naming it.
    """
    if root.tag != _t("TrustServiceStatusList") or root.get("TSLTag") != TSL_TAG:
        raise _malformed("is no ETSI TS 119 612 TrustServiceStatusList")
    version = _text(root, "tsl:SchemeInformation/tsl:TSLVersionIdentifier", "TSLVersionIdentifier")
    if version != str(TSL_VERSION):
        raise _malformed(f"has TSLVersionIdentifier {version}, not {TSL_VERSION}")
    sequence_text = _text(root, "tsl:SchemeInformation/tsl:TSLSequenceNumber", "TSLSequenceNumber")
    if not sequence_text.isdigit() or int(sequence_text) < 1:
        raise _malformed(f"has a TSLSequenceNumber that is no positive number: {sequence_text!r}")
    tsl_type = _text(root, "tsl:SchemeInformation/tsl:TSLType", "TSLType")
    prefix = TSL_TYPE.format(environment="")
    if not tsl_type.startswith(prefix) or not tsl_type[len(prefix) :]:
        raise _malformed(f"is of an unknown TSLType {tsl_type}")
    issued = _moment(
        _text(root, "tsl:SchemeInformation/tsl:ListIssueDateTime", "ListIssueDateTime"),
        "ListIssueDateTime",
    )
    next_update = _moment(
        _text(root, "tsl:SchemeInformation/tsl:NextUpdate/tsl:dateTime", "NextUpdate"),
        "NextUpdate",
    )
    if next_update <= issued:
        raise _malformed("has a NextUpdate that is not after its ListIssueDateTime")
    services = tuple(
        _read_service(element)
        for element in root.iterfind(
            "tsl:TrustServiceProviderList/tsl:TrustServiceProvider/tsl:TSPServices/tsl:TSPService",
            {"tsl": TSL},
        )
    )
    for role in ("root", "issuing", "trust-list"):
        if not any(service.role == role for service in services):
            raise _malformed(f"lists no {role} certificate")
    return TrustList(tsl_type[len(prefix) :], int(sequence_text), issued, next_update, services)


def sequence_of(root: etree._Element) -> int | None:
    """The ``TSLSequenceNumber`` of a list not verified yet (to order a refresh)."""
    found = root.find("tsl:SchemeInformation/tsl:TSLSequenceNumber", {"tsl": TSL})
    text = (found.text or "").strip() if found is not None else ""
    return int(text) if text.isdigit() else None

"""The SAML 1.1 assertion the STS issues, shaped like eHealth's.

Schema: OASIS ``oasis-sstc-saml-schema-assertion-1.1`` (SAML 1.1 core, section 2). The
assertion carries, in the schema's order:

- ``MajorVersion=1 MinorVersion=1``, ``AssertionID`` (an ``xs:ID``: ``_`` and 32 hex
  digits of CSPRNG output, SAML 1.1 core section 1.2.3 asks for at least 128 random
  bits), ``Issuer`` and ``IssueInstant`` (UTC, section 1.2.2 requires no time zone
  other than ``Z``);
- ``Conditions NotBefore NotOnOrAfter``: the token's validity (section 2.3.2.1);
- an ``AuthenticationStatement`` (method ``urn:oasis:names:tc:SAML:1.0:am:X509-PKI``,
  section 7.1: the holder proved possession of an X.509 key) and an
  ``AttributeStatement`` with the granted attributes, each over the same ``Subject``;
- the ``Subject``: a ``NameIdentifier`` in the X509SubjectName format (the holder
  certificate's subject, qualified by its issuer) and a ``SubjectConfirmation`` by
  ``holder-of-key`` (section 7.2.1) whose ``ds:KeyInfo`` holds the holder's certificate:
  only whoever holds that key may present the token (the WS-Security SAML token profile
  1.1, section 3.5);
- the ``ds:Signature`` (:mod:`ehcert.sts.xmldsig`) last, as the schema requires.

Attribute values are typed with ``xsi:type`` ``xs:string`` or ``xs:boolean``, as
eHealth's are; the ``xs`` prefix is therefore declared on the root and named in the
signature's exclusive-c14n ``InclusiveNamespaces`` (see :mod:`ehcert.sts.xmldsig`).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from ehcert.sts.attributes import GrantedAttribute
from ehcert.sts.xmldsig import DS_NAMESPACE

SAML_NAMESPACE = "urn:oasis:names:tc:SAML:1.0:assertion"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
XS_NAMESPACE = "http://www.w3.org/2001/XMLSchema"
X509_PKI_METHOD = "urn:oasis:names:tc:SAML:1.0:am:X509-PKI"
HOLDER_OF_KEY = "urn:oasis:names:tc:SAML:1.0:cm:holder-of-key"
X509_SUBJECT_NAME = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"
ASSERTION_ID_ATTRIBUTE = "AssertionID"
NAMESPACES = {"saml": SAML_NAMESPACE, "xs": XS_NAMESPACE, "xsi": XSI_NAMESPACE}


def new_assertion_id() -> str:
    """An ``xs:ID`` (an NCName, so not starting with a digit) with 128 random bits."""
    return "_" + secrets.token_hex(16)


def saml_instant(moment: dt.datetime) -> str:
    """``xs:dateTime`` in UTC with milliseconds and ``Z``, as eHealth writes it."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("SAML times must be timezone-aware")
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class AssertionContent:
    """Everything an assertion states, decided by the service before it is written."""

    assertion_id: str
    issuer: str
    issue_instant: dt.datetime
    not_before: dt.datetime
    not_on_or_after: dt.datetime
    holder_certificate: x509.Certificate
    attributes: Sequence[GrantedAttribute]

    def __post_init__(self) -> None:
        if not self.not_before < self.not_on_or_after:
            raise ValueError("not_on_or_after must be later than not_before")


def _saml(tag: str) -> str:
    return f"{{{SAML_NAMESPACE}}}{tag}"


def _subject(parent: etree._Element, certificate: x509.Certificate) -> None:
    subject = etree.SubElement(parent, _saml("Subject"))
    name = etree.SubElement(
        subject,
        _saml("NameIdentifier"),
        Format=X509_SUBJECT_NAME,
        NameQualifier=certificate.issuer.rfc4514_string(),
    )
    name.text = certificate.subject.rfc4514_string()
    confirmation = etree.SubElement(subject, _saml("SubjectConfirmation"))
    etree.SubElement(confirmation, _saml("ConfirmationMethod")).text = HOLDER_OF_KEY
    key_info = etree.SubElement(confirmation, f"{{{DS_NAMESPACE}}}KeyInfo")
    x509_data = etree.SubElement(key_info, f"{{{DS_NAMESPACE}}}X509Data")
    der = certificate.public_bytes(serialization.Encoding.DER)
    etree.SubElement(x509_data, f"{{{DS_NAMESPACE}}}X509Certificate").text = base64.b64encode(
        der
    ).decode("ascii")


def _attribute(parent: etree._Element, granted: GrantedAttribute) -> None:
    attribute = etree.SubElement(
        parent,
        _saml("Attribute"),
        AttributeName=granted.designator.name,
        AttributeNamespace=granted.designator.namespace,
    )
    value = etree.SubElement(attribute, _saml("AttributeValue"))
    if isinstance(granted.value, bool):
        value.set(f"{{{XSI_NAMESPACE}}}type", "xs:boolean")
        value.text = "true" if granted.value else "false"
    else:
        value.set(f"{{{XSI_NAMESPACE}}}type", "xs:string")
        value.text = granted.value


def build_assertion(content: AssertionContent) -> etree._Element:
    """The unsigned ``saml:Assertion`` element for ``content``.

    The ``AttributeStatement`` is left out when no attribute was granted: the schema
    requires at least one ``Attribute`` in it, and the ``AuthenticationStatement``
    alone still says who holds the key.
    """
    root = etree.Element(
        _saml("Assertion"),
        nsmap={
            "saml": SAML_NAMESPACE,
            "ds": DS_NAMESPACE,
            "xs": XS_NAMESPACE,
            "xsi": XSI_NAMESPACE,
        },
        MajorVersion="1",
        MinorVersion="1",
        AssertionID=content.assertion_id,
        Issuer=content.issuer,
        IssueInstant=saml_instant(content.issue_instant),
    )
    etree.SubElement(
        root,
        _saml("Conditions"),
        NotBefore=saml_instant(content.not_before),
        NotOnOrAfter=saml_instant(content.not_on_or_after),
    )
    authentication = etree.SubElement(
        root,
        _saml("AuthenticationStatement"),
        AuthenticationMethod=X509_PKI_METHOD,
        AuthenticationInstant=saml_instant(content.issue_instant),
    )
    _subject(authentication, content.holder_certificate)
    if content.attributes:
        statement = etree.SubElement(root, _saml("AttributeStatement"))
        _subject(statement, content.holder_certificate)
        for granted in content.attributes:
            _attribute(statement, granted)
    return root

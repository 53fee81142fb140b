"""Session tokens from the platform's STS, seen from the holder's side.

The holder signs a token request with the authentication key of its eHealth keystore
(the same JWS scheme as every signed request: a fresh nonce, the exact URL; RFC 8555
section 6.2) and gets back a SAML 1.1 holder-of-key assertion signed by the STS. The
token is worth presenting only with that key, so it is cached per holder and per set of
attributes, and a new one is asked when less than half its validity remains: a service
called near the end of a token's life still gets a token with hours left.

Every token is verified before it is returned or cached (:func:`verify_assertion`):

- the XML signature (enveloped, exclusive c14n, RSA-SHA256 with a SHA-256 digest, one
  reference to the root ``AssertionID``), with ``signxml``, against the STS certificate
  only, never a key named inside the document; what is read afterwards is only what was
  signed (the verifier's ``signed_xml``), so a wrapped or added element is never seen;
- the time: ``Conditions NotBefore`` / ``NotOnOrAfter`` with :data:`CLOCK_SKEW` of
  tolerance each way, for clocks that disagree by a few minutes;
- the confirmation: every subject statement confirms by ``holder-of-key`` with exactly
  the holder's certificate, so a token for someone else is refused.

The STS certificate is fetched from ``GET /sts/certificate`` and accepted only if the
issuing CA of the holder's own certificate (from the keystore's chain) signed it: an
acceptance keystore cannot be made to trust a production STS, or any other signer.

Only ``httpx``, ``lxml``, ``signxml`` and ``ehcert.core`` / ``ehcert.pki`` /
``ehcert.client`` are used: this works without the server installed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier

from ehcert.client.keys import RequestSigner
from ehcert.client.transport import DEFAULT_TIMEOUT_SECONDS, PlatformHttp
from ehcert.core.clock import Clock, SystemClock
from ehcert.core.errors import EhcertError, ErrorKind

SAML_NAMESPACE = "urn:oasis:names:tc:SAML:1.0:assertion"
DS_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
HOLDER_OF_KEY = "urn:oasis:names:tc:SAML:1.0:cm:holder-of-key"
ASSERTION_MEDIA_TYPE = "application/samlassertion+xml"
CLOCK_SKEW = dt.timedelta(minutes=5)
"""Tolerance when comparing the token's times with the local clock."""

_SIGNATURE_CONFIG = SignatureConfiguration(
    location="./",  # the ds:Signature is a child of the root Assertion (enveloped)
    expect_references=1,
    # rsa-sha256 as the platform's STS signs; ecdsa-sha256/384 for an STS with an EC key.
    signature_methods=frozenset(
        {SignatureMethod.RSA_SHA256, SignatureMethod.ECDSA_SHA256, SignatureMethod.ECDSA_SHA384}
    ),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
)


def _saml(tag: str) -> str:
    return f"{{{SAML_NAMESPACE}}}{tag}"


def _refused(detail: str) -> EhcertError:
    return EhcertError(ErrorKind.UNAUTHORIZED, detail)


@dataclass(frozen=True, slots=True)
class AttributeDesignator:
    """An attribute to ask for; the namespace may be left to the STS's catalogue."""

    name: str
    namespace: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or (
            self.namespace is not None and not isinstance(self.namespace, str)
        ):
            raise TypeError("an attribute designator's name and namespace must be strings")
        if not self.name:
            raise ValueError("an attribute designator needs a name")

    def as_json(self) -> object:
        if self.namespace is None:
            return self.name
        return {"name": self.name, "namespace": self.namespace}


@dataclass(frozen=True, slots=True)
class SamlAttribute:
    """One attribute the STS granted; ``xs:boolean`` values are ``bool``."""

    name: str
    namespace: str
    value: str | bool


@dataclass(frozen=True, slots=True)
class SamlToken:
    """A verified STS assertion: the XML to present and what it says."""

    xml: bytes
    assertion_id: str
    issuer: str
    issue_instant: dt.datetime
    not_before: dt.datetime
    not_on_or_after: dt.datetime
    subject: str
    attributes: tuple[SamlAttribute, ...]

    @property
    def validity(self) -> dt.timedelta:
        return self.not_on_or_after - self.not_before

    def remaining(self, at: dt.datetime) -> dt.timedelta:
        return self.not_on_or_after - at

    def needs_renewal(self, at: dt.datetime) -> bool:
        """Less than half the validity left: time to ask for a new token."""
        return self.remaining(at) < self.validity / 2

    def value(self, name: str) -> str | bool | None:
        """The value of attribute ``name``, or ``None`` when the STS did not grant it."""
        return next((a.value for a in self.attributes if a.name == name), None)


# --- verification ---------------------------------------------------------------------------


def _instant(element: etree._Element, attribute: str) -> dt.datetime:
    text = element.get(attribute)
    try:
        moment = dt.datetime.fromisoformat(text or "")
    except ValueError:
        raise _refused(f"The SAML assertion's {attribute} is not an xs:dateTime.") from None
    if moment.tzinfo is None:
        raise _refused(f"The SAML assertion's {attribute} has no time zone.")
    return moment.astimezone(dt.UTC)


def _certificate_in(key_info: etree._Element | None) -> bytes | None:
    if key_info is None:
        return None
    found = key_info.find(f"{{{DS_NAMESPACE}}}X509Data/{{{DS_NAMESPACE}}}X509Certificate")
    if found is None or not found.text:
        return None
    try:
        return base64.b64decode("".join(found.text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _check_confirmation(assertion: etree._Element, holder_certificate: x509.Certificate) -> str:
    """Every subject confirms by holder-of-key with the holder's certificate; return the
    subject name."""
    holder_der = holder_certificate.public_bytes(serialization.Encoding.DER)
    subjects = assertion.findall(f"./*/{_saml('Subject')}")
    if not subjects:
        raise _refused("The SAML assertion has no subject statement.")
    names: set[str] = set()
    for subject in subjects:
        confirmation = subject.find(_saml("SubjectConfirmation"))
        methods = (
            {m.text for m in confirmation.findall(_saml("ConfirmationMethod"))}
            if confirmation is not None
            else set()
        )
        if confirmation is None or HOLDER_OF_KEY not in methods:
            raise _refused("The SAML assertion is not confirmed by holder-of-key.")
        key = _certificate_in(confirmation.find(f"{{{DS_NAMESPACE}}}KeyInfo"))
        if key != holder_der:
            raise _refused("The SAML assertion is bound to another certificate than the holder's.")
        name = subject.find(_saml("NameIdentifier"))
        names.add(name.text or "" if name is not None else "")
    return names.pop() if len(names) == 1 else ""


def _attributes(assertion: etree._Element) -> tuple[SamlAttribute, ...]:
    found: list[SamlAttribute] = []
    for attribute in assertion.iterfind(f"{_saml('AttributeStatement')}/{_saml('Attribute')}"):
        for value in attribute.findall(_saml("AttributeValue")):
            text = value.text or ""
            typed: str | bool = text
            if (value.get(XSI_TYPE) or "").endswith(":boolean"):
                typed = text.strip() in ("true", "1")
            found.append(
                SamlAttribute(
                    attribute.get("AttributeName", ""),
                    attribute.get("AttributeNamespace", ""),
                    typed,
                )
            )
    return tuple(found)


def _parse(xml: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as error:
        raise _refused(f"The SAML assertion is not well-formed XML: {error}.") from None


def _within(certificate: x509.Certificate, at: dt.datetime, skew: dt.timedelta) -> dt.datetime:
    """``at`` moved into the certificate's validity if it is off by no more than ``skew``.

    An STS certificate made moments before it signed a token is "not yet valid" to a
    client whose clock is a minute slow; the same tolerance as for the token applies.
    """
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if start - skew <= at < start:
        return start
    if end < at <= end + skew:
        return end
    return at


def verify_assertion(
    xml: bytes,
    sts_certificate: x509.Certificate,
    holder_certificate: x509.Certificate,
    at: dt.datetime,
    *,
    clock_skew: dt.timedelta = CLOCK_SKEW,
) -> SamlToken:
    """Verify an STS assertion for ``holder_certificate`` at ``at`` (see the module).

    Refusals are :class:`EhcertError` ``unauthorized`` with one sentence saying which
    check failed.
    """
    if not isinstance(xml, bytes):
        raise TypeError("xml must be bytes")
    for field, value in (("sts_certificate", sts_certificate), ("holder", holder_certificate)):
        if not isinstance(value, x509.Certificate):
            raise TypeError(f"{field} must be an x509.Certificate")
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    root = _parse(xml)
    if root.tag != _saml("Assertion"):
        raise _refused("The document is not a SAML 1.1 assertion.")
    try:
        result = XMLVerifier().verify(
            xml,
            x509_cert=sts_certificate,
            id_attribute="AssertionID",
            expect_config=replace(
                _SIGNATURE_CONFIG,
                verification_time=_within(sts_certificate, at, clock_skew),
            ),
        )
    except (SignXMLException, etree.LxmlError) as error:
        reason = str(error).rstrip(".") or type(error).__name__
        raise _refused(
            f"The SAML assertion's signature does not verify with the STS certificate: {reason}."
        ) from None
    assert not isinstance(result, list)  # expect_references=1 gives one result
    signed = result.signed_xml
    reference = result.signature_xml.find(
        f"{{{DS_NAMESPACE}}}SignedInfo/{{{DS_NAMESPACE}}}Reference"
    )
    assertion_id = root.get("AssertionID", "")
    if (
        signed is None
        or signed.tag != _saml("Assertion")
        or signed.get("AssertionID") != assertion_id
        or reference is None
        or reference.get("URI") != f"#{assertion_id}"
    ):
        raise _refused("The SAML assertion's signature does not cover the assertion itself.")
    if signed.get("MajorVersion") != "1" or signed.get("MinorVersion") != "1":
        raise _refused("The SAML assertion is not SAML version 1.1.")
    conditions = signed.find(_saml("Conditions"))
    if conditions is None:
        raise _refused("The SAML assertion has no Conditions, so no validity.")
    not_before = _instant(conditions, "NotBefore")
    not_on_or_after = _instant(conditions, "NotOnOrAfter")
    if at + clock_skew < not_before:
        raise _refused(f"The SAML assertion is not valid before {not_before.isoformat()}.")
    if at - clock_skew >= not_on_or_after:
        raise _refused(f"The SAML assertion expired at {not_on_or_after.isoformat()}.")
    subject = _check_confirmation(signed, holder_certificate)
    return SamlToken(
        xml=xml,
        assertion_id=assertion_id,
        issuer=signed.get("Issuer", ""),
        issue_instant=_instant(signed, "IssueInstant"),
        not_before=not_before,
        not_on_or_after=not_on_or_after,
        subject=subject,
        attributes=_attributes(signed),
    )


# --- the client ------------------------------------------------------------------------------


def check_sts_certificate(
    sts_certificate: x509.Certificate, chain: Sequence[x509.Certificate], at: dt.datetime
) -> None:
    """Accept the STS certificate only if the holder's issuing CA signed it, valid at ``at``."""
    leaf, issuers = chain[0], chain[1:]
    issuing = next((c for c in issuers if c.subject == leaf.issuer), None)
    if issuing is None:
        raise EhcertError(
            ErrorKind.UNTRUSTED,
            "The keystore holds no issuing CA certificate, so the STS certificate cannot "
            "be checked; renew the keystore or give the STS certificate explicitly.",
        )
    try:
        sts_certificate.verify_directly_issued_by(issuing)
    except (ValueError, TypeError, InvalidSignature):
        raise EhcertError(
            ErrorKind.UNTRUSTED,
            f"The STS certificate {sts_certificate.subject.rfc4514_string()} was not issued "
            f"by {issuing.subject.rfc4514_string()}, the CA of your certificate.",
        ) from None
    if not sts_certificate.not_valid_before_utc <= at <= sts_certificate.not_valid_after_utc:
        raise EhcertError(
            ErrorKind.UNTRUSTED,
            f"The STS certificate is not valid on {at:%Y-%m-%d %H:%M} UTC.",
        )


class StsClient(PlatformHttp):
    """Requests, verifies and caches STS tokens for one holder at one platform."""

    def __init__(
        self,
        base_url: str,
        signer: RequestSigner,
        *,
        clock: Clock | None = None,
        sts_certificate: x509.Certificate | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout, transport=transport)
        self.signer = signer
        self.clock: Clock = clock or SystemClock()
        self._sts_certificate = sts_certificate
        self._cache: dict[tuple[tuple[AttributeDesignator, ...], int | None], SamlToken] = {}
        self._lock = threading.Lock()

    def sts_certificate(self) -> x509.Certificate:
        """The STS certificate (``GET /sts/certificate``), checked against the keystore."""
        if self._sts_certificate is not None:
            return self._sts_certificate
        response = self._checked(self._send("GET", "/sts/certificate"))
        try:
            certificate = x509.load_pem_x509_certificate(response.content)
        except (ValueError, x509.InvalidVersion):
            raise EhcertError(
                ErrorKind.INTERNAL, "The platform's STS certificate is not PEM."
            ) from None
        check_sts_certificate(certificate, list(self.signer.chain), self.clock.now())
        self._sts_certificate = certificate
        return certificate

    def _nonce(self) -> str:
        """A fresh nonce; unlike the platform client's, only ever from ``Replay-Nonce``."""
        response = self._checked(self._nonce_response())
        nonce = response.headers.get("Replay-Nonce")
        if not nonce:
            raise EhcertError(ErrorKind.INTERNAL, "The platform sent no Replay-Nonce header.")
        return str(nonce)

    def request_token(
        self,
        attributes: Sequence[AttributeDesignator | str] = (),
        validity_hours: int | None = None,
    ) -> SamlToken:
        """Ask the STS for a new token now (``POST /sts/token``) and verify it."""
        designators = _designators(attributes)
        sts_certificate = self.sts_certificate()
        payload: dict[str, object] = {"attributes": [d.as_json() for d in designators]}
        if validity_hours is not None:
            payload["validity_hours"] = validity_hours
        response = self._post_jws(
            "/sts/token", payload, self.signer, self._nonce, {"Accept": ASSERTION_MEDIA_TYPE}
        )
        holder = self.signer.chain[0]
        return verify_assertion(response.content, sts_certificate, holder, self.clock.now())

    def token(
        self,
        attributes: Sequence[AttributeDesignator | str] = (),
        validity_hours: int | None = None,
    ) -> SamlToken:
        """A token for these attributes: the cached one while more than half its validity
        remains, otherwise a new one."""
        key = (_designators(attributes), validity_hours)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and not cached.needs_renewal(self.clock.now()):
                return cached
            fresh = self.request_token(key[0], validity_hours)
            self._cache[key] = fresh
            return fresh


def _designators(
    attributes: Sequence[AttributeDesignator | str],
) -> tuple[AttributeDesignator, ...]:
    if isinstance(attributes, str):
        raise TypeError("attributes must be a sequence of names, not one string")
    return tuple(
        item if isinstance(item, AttributeDesignator) else AttributeDesignator(item)
        for item in attributes
    )

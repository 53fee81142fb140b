"""Holder-of-key access: the STS assertion a request carries, checked by the box.

Every request to the box is a signed request of the platform's one scheme (a JWS over a
fresh nonce and the exact URL, ``api.authentication``), signed with the caller's eHealth
authentication key, and its payload carries the SAML 1.1 assertion the STS issued to
that key (``assertion``, base64). The box accepts the request only when
(:func:`check_assertion`):

- the assertion's signer (the certificate in its ``ds:KeyInfo``) and the certificate it
  is bound to are not of the other environment (``pki.environments``): a token of the
  acceptance STS in production, or the reverse, is ``wrong-environment``;
- the assertion's enveloped XML signature (exclusive c14n, RSA-SHA256, one reference to
  the root ``AssertionID``) verifies with the STS certificate, and only what was signed
  is read afterwards (a wrapped or added element is never seen);
- its ``Issuer`` is this platform's STS;
- ``Conditions NotBefore``/``NotOnOrAfter`` hold now, with :data:`CLOCK_SKEW`;
- every subject confirms by ``holder-of-key`` (SAML 1.1 core 7.2.1; WS-Security SAML
  token profile 1.1, 3.5) with exactly the certificate that signed the request, so a
  token presented by anyone but the holder of its key is refused.

Any other refusal is ``unauthorized`` with the sentence of the check that failed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, replace

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.environments import EnvironmentCheck

SAML_NAMESPACE = "urn:oasis:names:tc:SAML:1.0:assertion"
DS_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"
HOLDER_OF_KEY = "urn:oasis:names:tc:SAML:1.0:cm:holder-of-key"
CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_ASSERTION_BYTES = 64 * 1024

_CONFIG = SignatureConfiguration(
    location="./",
    expect_references=1,
    signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
)


def _saml(tag: str) -> str:
    return f"{{{SAML_NAMESPACE}}}{tag}"


def _refused(detail: str) -> EhcertError:
    return EhcertError(ErrorKind.UNAUTHORIZED, detail, field="assertion")


@dataclass(frozen=True, slots=True)
class CheckedAssertion:
    assertion_id: str
    not_on_or_after: dt.datetime


def _instant(element: etree._Element, name: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(element.get(name) or "")
    except ValueError:
        raise _refused(f"The STS assertion's {name} is not a time.") from None
    if moment.tzinfo is None:
        raise _refused(f"The STS assertion's {name} has no time zone.")
    return moment.astimezone(dt.UTC)


def decode_assertion(value: object) -> bytes:
    """The assertion XML from the payload's ``assertion`` member (standard base64)."""
    if not isinstance(value, str) or not value:
        raise _refused(
            "The request carries no STS assertion; get a token from the STS and send it "
            "as 'assertion'."
        )
    if len(value) > MAX_ASSERTION_BYTES * 4 // 3 + 4:
        raise _refused("The STS assertion is too large.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _refused("The request's assertion is not base64.") from None


def _embedded_certificates(root: etree._Element) -> list[tuple[str, x509.Certificate]]:
    """The certificates the assertion names, unverified: its signer's and its subjects'."""
    found: list[tuple[str, x509.Certificate]] = []
    data = f"{{{DS_NAMESPACE}}}KeyInfo/{{{DS_NAMESPACE}}}X509Data/{{{DS_NAMESPACE}}}X509Certificate"
    places = (
        ("The STS assertion's signer", f"{{{DS_NAMESPACE}}}Signature/{data}"),
        (
            "The certificate the STS assertion is bound to",
            f"./*/{_saml('Subject')}/{_saml('SubjectConfirmation')}/{data}",
        ),
    )
    for what, path in places:
        for element in root.findall(path):
            try:
                der = base64.b64decode("".join((element.text or "").split()))
                found.append((what, x509.load_der_x509_certificate(der)))
            except (binascii.Error, ValueError):
                continue  # not a certificate: the signature check refuses it
    return found


def _refuse_other_environment(root: etree._Element, environments: EnvironmentCheck) -> None:
    """A token of the other environment's STS says so before its signature is tried: it
    could never verify here, and "wrong environment" is what the holder needs to read."""
    for what, certificate in _embedded_certificates(root):
        environments.refuse_other(certificate, what)


def check_assertion(
    xml: bytes,
    *,
    sts_certificate: x509.Certificate,
    issuer: str,
    request_certificate: x509.Certificate,
    now: dt.datetime,
    environments: EnvironmentCheck,
) -> CheckedAssertion:
    """Accept ``xml`` for a request signed with ``request_certificate``; see the module."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError:
        raise _refused("The STS assertion is not well-formed XML.") from None
    if root.tag != _saml("Assertion"):
        raise _refused("The request's assertion is not a SAML 1.1 assertion.")
    _refuse_other_environment(root, environments)
    try:
        result = XMLVerifier().verify(
            xml,
            x509_cert=sts_certificate,
            id_attribute="AssertionID",
            expect_config=replace(_CONFIG, verification_time=now),
        )
    except (SignXMLException, etree.LxmlError) as error:
        reason = str(error).rstrip(".") or type(error).__name__
        raise _refused(
            f"The STS assertion's signature does not verify with the STS certificate: {reason}."
        ) from None
    assert not isinstance(result, list)
    signed = result.signed_xml
    assertion_id = root.get("AssertionID", "")
    if (
        signed is None
        or signed.tag != _saml("Assertion")
        or signed.get("AssertionID") != assertion_id
    ):
        raise _refused("The STS assertion's signature does not cover the assertion itself.")
    if signed.get("Issuer") != issuer:
        raise _refused(f"The assertion was issued by {signed.get('Issuer')!r}, not by {issuer!r}.")
    conditions = signed.find(_saml("Conditions"))
    if conditions is None:
        raise _refused("The STS assertion has no validity (Conditions).")
    not_before = _instant(conditions, "NotBefore")
    not_on_or_after = _instant(conditions, "NotOnOrAfter")
    if now + CLOCK_SKEW < not_before:
        raise _refused(f"The STS assertion is not valid before {not_before.isoformat()}.")
    if now - CLOCK_SKEW >= not_on_or_after:
        raise _refused(
            f"The STS assertion expired at {not_on_or_after.isoformat()}; get a new token."
        )
    holder_der = request_certificate.public_bytes(serialization.Encoding.DER)
    subjects = signed.findall(f"./*/{_saml('Subject')}")
    if not subjects:
        raise _refused("The STS assertion has no subject.")
    for subject in subjects:
        confirmation = subject.find(_saml("SubjectConfirmation"))
        methods = (
            set()
            if confirmation is None
            else {m.text for m in confirmation.findall(_saml("ConfirmationMethod"))}
        )
        if confirmation is None or HOLDER_OF_KEY not in methods:
            raise _refused("The STS assertion is not confirmed by holder-of-key.")
        found = confirmation.find(
            f"{{{DS_NAMESPACE}}}KeyInfo/{{{DS_NAMESPACE}}}X509Data/{{{DS_NAMESPACE}}}X509Certificate"
        )
        try:
            der = (
                base64.b64decode("".join((found.text or "").split())) if found is not None else b""
            )
        except (binascii.Error, ValueError):
            der = b""
        if der != holder_der:
            raise _refused(
                "The STS assertion is bound to another key than the one that signed this "
                "request (holder-of-key)."
            )
    return CheckedAssertion(assertion_id, not_on_or_after)

"""XAdES-B enveloped signatures over a whole XML document, made through a ``Signer``.

A trust list (ETSI TS 119 612 section 5.7) is signed with an enveloped XAdES baseline B
signature (ETSI EN 319 132-1, XAdES-B-B): an XML-DSig signature whose ``SignedInfo``
references

1. the document's root element by its ``Id``, with the enveloped-signature transform
   (XML-DSig 1.1 section 6.6.4) then exclusive canonicalisation, and
2. the ``xades:SignedProperties`` inside the signature's ``ds:Object``
   (``Type="http://uri.etsi.org/01903#SignedProperties"``, EN 319 132-1 section 4.3),
   which carry the signing time and the digest of the signing certificate
   (``SigningCertificateV2``, section 5.2.2), so the certificate cannot be swapped.

The private key may live in an HSM, so, as in :mod:`ehcert.sts.xmldsig`, the signature is
assembled with lxml and only the RSA operation goes to the signer. Verification is
signxml's independent XAdES verifier (:func:`verify_enveloped`), which returns the element
the signature actually covers: callers read that, never the parsed input, so nothing
outside the signed element can be slipped in (signature wrapping).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import secrets

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from signxml.algorithms import SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.signer import Signer

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"


def _ds(tag: str) -> str:
    return f"{{{DS}}}{tag}"


def _xades(tag: str) -> str:
    return f"{{{XADES}}}{tag}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def parse_xml(document: bytes) -> etree._Element:
    """Parse without DTDs, entities or network access; a broken document is MALFORMED."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        return etree.fromstring(document, parser)
    except etree.XMLSyntaxError as error:
        raise EhcertError(ErrorKind.MALFORMED, f"The document is not XML: {error}.") from None


def _reference(
    parent: etree._Element, uri: str, transforms: list[str], type_: str | None = None
) -> None:
    reference = etree.SubElement(parent, _ds("Reference"), URI=uri)
    if type_:
        reference.set("Type", type_)
    holder = etree.SubElement(reference, _ds("Transforms"))
    for algorithm in transforms:
        etree.SubElement(holder, _ds("Transform"), Algorithm=algorithm)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=SHA256)
    etree.SubElement(reference, _ds("DigestValue"))


def _skeleton(
    root_id: str, certificate: x509.Certificate, signing_time: dt.datetime
) -> etree._Element:
    """The ``ds:Signature`` with every value but the two digests and the signature."""
    signature_id = f"sig-{secrets.token_hex(8)}"
    properties_id = f"{signature_id}-signed-properties"
    signature = etree.Element(_ds("Signature"), nsmap={"ds": DS}, Id=signature_id)
    signed_info = etree.SubElement(signature, _ds("SignedInfo"))
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=RSA_SHA256)
    _reference(signed_info, f"#{root_id}", [ENVELOPED, EXC_C14N])
    _reference(signed_info, f"#{properties_id}", [EXC_C14N], SIGNED_PROPERTIES_TYPE)
    etree.SubElement(signature, _ds("SignatureValue"))
    der = certificate.public_bytes(serialization.Encoding.DER)
    x509_data = etree.SubElement(etree.SubElement(signature, _ds("KeyInfo")), _ds("X509Data"))
    etree.SubElement(x509_data, _ds("X509Certificate")).text = _b64(der)
    holder = etree.SubElement(signature, _ds("Object"))
    qualifying = etree.SubElement(
        holder, _xades("QualifyingProperties"), nsmap={"xades": XADES}, Target=f"#{signature_id}"
    )
    properties = etree.SubElement(qualifying, _xades("SignedProperties"), Id=properties_id)
    signature_properties = etree.SubElement(properties, _xades("SignedSignatureProperties"))
    etree.SubElement(signature_properties, _xades("SigningTime")).text = signing_time.astimezone(
        dt.UTC
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    cert = etree.SubElement(
        etree.SubElement(signature_properties, _xades("SigningCertificateV2")), _xades("Cert")
    )
    cert_digest = etree.SubElement(cert, _xades("CertDigest"))
    etree.SubElement(cert_digest, _ds("DigestMethod"), Algorithm=SHA256)
    etree.SubElement(cert_digest, _ds("DigestValue")).text = _b64(hashlib.sha256(der).digest())
    return signature


def sign_enveloped(
    document: bytes,
    *,
    signer: Signer,
    certificate: x509.Certificate,
    signing_time: dt.datetime,
) -> bytes:
    """``document`` with an enveloped XAdES-B-B signature appended to its root element.

    The root must carry an ``Id`` attribute (the first reference points at it). The
    skeleton is inserted and the document re-parsed before anything is digested, so
    digests are computed over exactly the tree a verifier parses.
    """
    root = parse_xml(document)
    root_id = root.get("Id")
    if not root_id:
        raise ValueError("the element to sign has no Id attribute")
    if root.find(_ds("Signature")) is not None:
        raise ValueError("the document is signed already")
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key != signer.public_key():
        raise EhcertError(
            ErrorKind.INTERNAL, "The XAdES signing certificate does not hold the signer's key."
        )
    root.append(_skeleton(root_id, certificate, signing_time))
    root = parse_xml(etree.tostring(root))
    signature = root[-1]
    enveloped = copy.deepcopy(root)
    enveloped.remove(enveloped[-1])
    signed_info = signature.find(_ds("SignedInfo"))
    properties = signature.find(f"{_ds('Object')}/{_xades('QualifyingProperties')}")
    assert signed_info is not None
    assert properties is not None
    digests = [
        hashlib.sha256(_c14n(enveloped)).digest(),
        hashlib.sha256(_c14n(properties[0])).digest(),
    ]
    for reference, digest in zip(signed_info.findall(_ds("Reference")), digests, strict=True):
        digest_value = reference.find(_ds("DigestValue"))
        assert digest_value is not None
        digest_value.text = _b64(digest)
    to_sign = _c14n(signed_info)
    value = signer.sign(to_sign)
    try:
        public_key.verify(value, to_sign, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise EhcertError(
            ErrorKind.INTERNAL, "The XAdES signature just made does not verify."
        ) from None
    signature_value = signature.find(_ds("SignatureValue"))
    assert signature_value is not None
    signature_value.text = _b64(value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def signing_certificate(document: bytes) -> x509.Certificate:
    """The certificate the signature's ``KeyInfo`` names (not yet trusted by anything)."""
    root = parse_xml(document)
    found = root.find(
        f"{_ds('Signature')}/{_ds('KeyInfo')}/{_ds('X509Data')}/{_ds('X509Certificate')}"
    )
    if found is None or not (found.text or "").strip():
        raise EhcertError(
            ErrorKind.MALFORMED, "The document carries no signing certificate.", field="signature"
        )
    try:
        return x509.load_der_x509_certificate(base64.b64decode(found.text or ""))
    except ValueError:
        raise EhcertError(
            ErrorKind.MALFORMED,
            "The document's signing certificate cannot be read.",
            field="signature",
        ) from None


def verify_enveloped(
    document: bytes, certificate: x509.Certificate, at: dt.datetime
) -> etree._Element:
    """Verify the XAdES-B signature of ``document`` with ``certificate`` at ``at``; return the
    element it signs (the root, without its ``ds:Signature``).

    Only rsa-sha256 and SHA-256 digests are accepted, with exactly the two references of
    :func:`sign_enveloped`; the ``SigningCertificateV2`` digest must be ``certificate``'s.
    """
    config = XAdESSignatureConfiguration(
        expect_references=2,
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        verification_time=at,
    )
    try:
        results = XAdESVerifier().verify(document, x509_cert=certificate, expect_config=config)
    except SignXMLException as error:
        raise EhcertError(
            ErrorKind.UNTRUSTED,
            f"The signature does not verify with the certificate of "
            f"{certificate.subject.rfc4514_string()}: {error}.",
            field="signature",
        ) from None
    for result in results:
        signed = result.signed_xml
        if signed is not None and signed.tag != _xades("SignedProperties"):
            return signed
    raise EhcertError(
        ErrorKind.UNTRUSTED, "The signature covers no part of the document.", field="signature"
    )

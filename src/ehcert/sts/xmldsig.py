"""XML-DSig enveloped signatures made through a :class:`~ehcert.pki.signer.Signer`.

XML signature libraries want the private key in memory; the STS key may live in an HSM
(DESIGN.md: keys only ever behind a ``Signer``). So the signature is assembled here with
lxml's canonicalisation and only the final RSA operation goes to the signer:

1. the signed element is canonicalised with exclusive XML canonicalisation (exc-c14n,
   W3C "Exclusive XML Canonicalization 1.0") without the ``ds:Signature`` -- which is what
   the enveloped-signature transform (XML-DSig 1.1 section 6.6.4) leaves -- and hashed with
   SHA-256 (section 6.2.2) into the ``Reference`` digest;
2. ``ds:SignedInfo`` (CanonicalizationMethod exc-c14n, SignatureMethod rsa-sha256 of RFC
   6931 section 2.3.2, one ``Reference`` to ``#<id>``) is put in place inside the element
   and canonicalised there, so its in-scope namespaces are the ones a verifier sees;
3. the signer signs those bytes with RSASSA-PKCS1-v1_5/SHA-256, which is exactly what
   rsa-sha256 means; the value is checked against the certificate before it is written, so
   a signer whose key does not match the published certificate fails here, not at every
   relying party. The platform's STS key is RSA (``ca.keys.DOCUMENT_SIGNER_ROLES``); a
   signer with an EC key signs ecdsa-sha256 (P-256) or ecdsa-sha384 (P-384), RFC 6931
   section 2.3.6, whose SignatureValue is ``r || s`` (XML-DSig 1.1 section 6.4.3).

Values inside attributes (``xsi:type="xs:boolean"``) use the ``xs`` prefix without
"visibly utilising" it, so exc-c14n would drop its declaration from the signed form; the
prefixes in ``inclusive_prefixes`` are therefore named in the transform's
``InclusiveNamespaces PrefixList`` (exc-c14n section 3) and stay in what is signed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.public_keys import PublicKey, ecdsa_raw, signature_hash
from ehcert.pki.signer import Signer, verifies

DS_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ECDSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


def _ds(tag: str) -> str:
    return f"{{{DS_NAMESPACE}}}{tag}"


def exclusive_c14n(element: etree._Element, inclusive_prefixes: Sequence[str] = ()) -> bytes:
    """Exclusive canonical form of ``element``'s subtree, without comments."""
    return etree.tostring(
        element,
        method="c14n",
        exclusive=True,
        with_comments=False,
        inclusive_ns_prefixes=list(inclusive_prefixes) or None,
    )


def signature_method(key: PublicKey) -> str:
    """rsa-sha256 for RSA; ecdsa-sha256 or ecdsa-sha384 by the EC key's curve."""
    if isinstance(key, rsa.RSAPublicKey):
        return RSA_SHA256
    return ECDSA_SHA384 if signature_hash(key).name == "sha384" else ECDSA_SHA256


def _signed_info(
    reference_uri: str, inclusive_prefixes: Sequence[str], method: str
) -> etree._Element:
    signed_info = etree.Element(_ds("SignedInfo"))
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=method)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI=reference_uri)
    transforms = etree.SubElement(reference, _ds("Transforms"))
    etree.SubElement(transforms, _ds("Transform"), Algorithm=ENVELOPED_SIGNATURE)
    c14n = etree.SubElement(transforms, _ds("Transform"), Algorithm=EXC_C14N)
    if inclusive_prefixes:
        etree.SubElement(
            c14n,
            f"{{{EXC_C14N}}}InclusiveNamespaces",
            nsmap={"ec": EXC_C14N},
            PrefixList=" ".join(inclusive_prefixes),
        )
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=SHA256)
    etree.SubElement(reference, _ds("DigestValue"))
    return signed_info


def _parse(document: bytes) -> etree._Element:
    """Parse without DTDs, entities or network access (nothing here needs them)."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, remove_blank_text=False, huge_tree=False
    )
    return etree.fromstring(document, parser)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sign_enveloped(
    document: bytes,
    *,
    id_attribute: str,
    signer: Signer,
    certificate: x509.Certificate,
    inclusive_prefixes: Sequence[str] = (),
) -> bytes:
    """Sign ``document``'s root element (referenced by its ``id_attribute``) in place.

    Returns the serialised document with a ``ds:Signature`` appended to the root.
    ``certificate`` is the signer's; it goes into ``ds:KeyInfo/X509Data`` so a verifier
    sees which key signed, though it must trust that key by its own means.

    The skeleton of the signature is inserted first and the document re-parsed, so the
    digest and the ``SignedInfo`` are canonicalised from exactly the tree a verifier will
    parse (an lxml tree built in memory can carry namespace declarations differently);
    only text (the digest and signature values) is filled in after that.
    """
    root = _parse(document)
    identifier = root.get(id_attribute)
    if not identifier:
        raise ValueError(f"the element to sign has no {id_attribute} attribute")
    if root.find(_ds("Signature")) is not None:
        raise ValueError("the element is already signed")
    public_key = certificate.public_key()
    kinds = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
    if not isinstance(public_key, kinds) or public_key != signer.public_key():
        raise EhcertError(
            ErrorKind.INTERNAL, "The XML signing certificate does not hold the signer's key."
        )
    skeleton = etree.SubElement(root, _ds("Signature"), nsmap={"ds": DS_NAMESPACE})
    skeleton.append(
        _signed_info(f"#{identifier}", inclusive_prefixes, signature_method(public_key))
    )
    etree.SubElement(skeleton, _ds("SignatureValue"))
    x509_data = etree.SubElement(etree.SubElement(skeleton, _ds("KeyInfo")), _ds("X509Data"))
    etree.SubElement(x509_data, _ds("X509Certificate")).text = _b64(
        certificate.public_bytes(serialization.Encoding.DER)
    )
    root = _parse(etree.tostring(root))
    signature = root[-1]
    # The enveloped-signature transform: the root without its ds:Signature.
    enveloped = copy.deepcopy(root)
    enveloped.remove(enveloped[-1])
    digest = hashlib.sha256(exclusive_c14n(enveloped, inclusive_prefixes)).digest()
    signed_info = signature[0]
    signed_info.find(f"{_ds('Reference')}/{_ds('DigestValue')}").text = _b64(digest)  # type: ignore[union-attr]
    to_sign = exclusive_c14n(signed_info)
    value = signer.sign(to_sign)
    if not verifies(public_key, value, to_sign):
        raise EhcertError(
            ErrorKind.INTERNAL,
            "The XML signature just made does not verify with the signing certificate.",
        )
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        value = ecdsa_raw(value, public_key)  # XML-DSig wants r || s, not DER
    signature[1].text = _b64(value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

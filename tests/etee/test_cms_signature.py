"""One CMS SignerInfo verifier (ehcert.pki.cms_signature) for ETKs and sealed messages.

Each test re-signs a real ETK or sealed message with one defect and shows that the ETK
check and the message check judge it by the same rule, with the same sentence.
"""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from ehcert.client.etee import seal, unseal
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.cms_signature import verify_signer_info
from ehcert.pki.etk import parse_etk, verify_etk

from .conftest import T_OWN, OwnPki
from .test_etk import _own_etk

LACKS_ATTRIBUTES = "its signed attributes lack content-type or message-digest (RFC 5652 5.3)"
_HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256}


def _resign(
    signed_data: bytes, key: rsa.RSAPrivateKey, digest: str = "sha256", drop: str | None = None
) -> bytes:
    """``signed_data`` with its one SignerInfo signed again by ``key`` (PKCS#1 v1.5) over
    ``digest``, the signed attribute ``drop`` left out."""
    info = cms.ContentInfo.load(signed_data)
    body = info["content"]
    content = body["encap_content_info"]["content"].native
    signer_info = body["signer_infos"][0]
    attributes = []
    for attribute in signer_info["signed_attrs"]:
        name = attribute["type"].native
        if name == drop:
            continue
        if name == "message_digest":
            value = hashlib.new(digest, content).digest()
            attributes.append(cms.CMSAttribute({"type": "message_digest", "values": [value]}))
        else:
            attributes.append(cms.CMSAttribute.load(attribute.dump()))
    signed = cms.CMSAttributes(attributes).dump()
    signature = key.sign(signed, padding.PKCS1v15(), _HASHES[digest]())
    body["signer_infos"] = [
        cms.SignerInfo(
            {
                "version": "v1",
                "sid": signer_info["sid"],
                "digest_algorithm": {"algorithm": digest},
                "signed_attrs": cms.CMSAttributes.load(signed),
                "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"},
                "signature": signature,
            }
        )
    ]
    body["digest_algorithms"] = [{"algorithm": digest}]
    return bytes(info.dump(force=True))


def _message(pki: OwnPki) -> bytes:
    return seal(
        b"lab result",
        sender=pki.alice.authentication,
        recipients=[pki.bob.encryption.certificate],
        signing_time=T_OWN,
    )


def _etk_verdict(pki: OwnPki, data: bytes, **options: bool):
    return verify_etk(parse_etk(data), anchors=[pki.root], at=T_OWN, **options)


def test_resigning_keeps_both_valid(own_pki) -> None:
    """The helper itself: re-signed without a defect, both still verify."""
    assert _etk_verdict(own_pki, _resign(_own_etk(own_pki), own_pki.depot.private_key)).usable
    message = _resign(_message(own_pki), own_pki.alice.authentication.private_key)
    result = unseal(message, [own_pki.bob.keystore], anchors=[own_pki.root], at=T_OWN)
    assert result.content == b"lab result" and result.report.data.valid


def test_missing_content_type_is_refused_by_etk_and_message_alike(own_pki) -> None:
    """RFC 5652 5.3: with signed attributes, content-type MUST be present. The ETK check
    used to accept its absence; now both say the same sentence."""
    etk = _resign(_own_etk(own_pki), own_pki.depot.private_key, drop="content_type")
    verdict = _etk_verdict(own_pki, etk)
    assert not verdict.valid and "etk_signature" in verdict.codes
    assert LACKS_ATTRIBUTES in verdict.validity_issues[0].detail

    message = _resign(
        _message(own_pki), own_pki.alice.authentication.private_key, drop="content_type"
    )
    with pytest.raises(EhcertError) as refused:
        unseal(message, [own_pki.bob.keystore], anchors=[own_pki.root], at=T_OWN)
    assert refused.value.kind is ErrorKind.MALFORMED and LACKS_ATTRIBUTES in refused.value.detail


def test_wrong_content_type_is_refused_by_own_etk(own_pki) -> None:
    """The ETK check used to ignore the content-type value; RFC 5652 11.1 says it MUST
    match the eContentType."""
    etk = parse_etk(_own_etk(own_pki))
    check = verify_signer_info(
        etk.signer_info,
        "1.2.840.113549.1.7.2",  # id-signedData: not what the depot signed
        etk.encryption_certificate.public_bytes(Encoding.DER),
        own_pki.depot.certificate,
        "depot's signature",
    )
    assert (
        "digest_mismatch",
        "the content-type attribute does not match the content",
    ) in check.issues


def test_sha1_depot_signature_only_when_allowed_and_then_flagged(own_pki) -> None:
    etk = _resign(_own_etk(own_pki), own_pki.depot.private_key, digest="sha1")
    refused = _etk_verdict(own_pki, etk)
    assert not refused.valid and "etk_signature" in refused.codes
    assert "SHA-1 is not allowed" in refused.validity_issues[0].detail
    assert _etk_verdict(own_pki, etk, allow_sha1_signatures=True).valid

    parsed = parse_etk(etk)
    content = parsed.encryption_certificate.public_bytes(Encoding.DER)
    strict = verify_signer_info(
        parsed.signer_info, "1.2.840.113549.1.7.1", content, own_pki.depot.certificate, "x"
    )
    assert not strict.sha1_used and strict.issues
    allowed = verify_signer_info(
        parsed.signer_info,
        "1.2.840.113549.1.7.1",
        content,
        own_pki.depot.certificate,
        "x",
        allow_sha1=True,
    )
    assert allowed.sha1_used and allowed.signature_valid and not allowed.issues


def test_sha1_message_signature_is_a_trust_issue_only_when_allowed(own_pki) -> None:
    """The 2014 platform signed with SHA-1: refused as data by default; with
    allow_sha1_signatures the message opens and the report warns under trust."""
    message = _resign(_message(own_pki), own_pki.alice.authentication.private_key, digest="sha1")
    keystores, anchors = [own_pki.bob.keystore], [own_pki.root]

    default = unseal(message, keystores, anchors=anchors, at=T_OWN)
    assert default.content is None and not default.report.data.valid
    assert {(i.code, i.where) for i in default.report.data.issues} == {
        ("algorithm_not_allowed", "outer")
    }
    assert "sha1_signature" not in {i.code for i in default.report.trust.issues}

    allowed = unseal(message, keystores, anchors=anchors, at=T_OWN, allow_sha1_signatures=True)
    assert allowed.content == b"lab result" and allowed.report.data.valid
    assert [(i.code, i.where) for i in allowed.report.trust.issues] == [("sha1_signature", "outer")]
    assert not allowed.report.trust.trusted

"""CMS (RFC 5652) pieces for sealed messages: read and write SignedData and SignerInfos.

The big structures are walked with :mod:`ehcert.client.etee.der` (zero copy); a
SignerInfo in plain DER is read by :func:`ehcert.pki.cms_signature.read_plain_signer_info`
and anything else, like the certificates and algorithm identifiers, by asn1crypto. A
SignerInfo is checked by the product's one CMS signature verifier,
:mod:`ehcert.pki.cms_signature` (its docstring lists the malformed/invalid split and the
allowed algorithms); this module finds the signer and the content it signs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from asn1crypto import algos, core
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding

from ehcert.client.etee import der
from ehcert.client.etee.der import CONTEXT, UNIVERSAL, BerError, Buffer, Parts
from ehcert.pki.cms_signature import (
    OID_CONTENT_TYPE,
    OID_DATA,
    OID_MESSAGE_DIGEST,
    OID_SIGNING_TIME,
    PlainSignerInfo,
    SignerCheck,
    digest_of,
    read_plain_signer_info,
    verify_signer_info,
)

OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"

SignerInfo: TypeAlias = asn1_cms.SignerInfo | PlainSignerInfo
"""A SignerInfo as read: in plain DER by :func:`ehcert.pki.cms_signature.
read_plain_signer_info`, anything else by asn1crypto."""


def signer_identifier(signer_info: SignerInfo) -> asn1_cms.SignerIdentifier:
    """The ``sid`` of a SignerInfo (RFC 5652 5.3), however it was read."""
    if isinstance(signer_info, PlainSignerInfo):
        return signer_info.sid
    sid: asn1_cms.SignerIdentifier = signer_info["sid"]
    return sid


@dataclass(frozen=True)
class CertificatePair:
    """One certificate as both libraries see it: asn1crypto for exact names, cryptography
    for keys and validation."""

    asn1: asn1_x509.Certificate
    certificate: x509.Certificate

    @classmethod
    def from_der(cls, data: bytes) -> CertificatePair:
        """The pair for the certificate ``data``; the same pair for the same bytes.

        Parsing a certificate twice (asn1crypto and cryptography) is most of what a
        1 KB seal or unseal spends outside its RSA operations, and the same few
        certificates (the sender's, the keystore's) come back in every message, so pairs
        are kept by their DER (a bounded cache; a pair is read-only once built).
        """
        return _pair_from_der(bytes(data))

    @classmethod
    def from_certificate(cls, certificate: x509.Certificate) -> CertificatePair:
        return cls.from_der(certificate.public_bytes(Encoding.DER))

    def matches(self, sid: asn1_cms.SignerIdentifier | asn1_cms.RecipientIdentifier) -> bool:
        """RFC 5652 5.3 / 6.2.1: issuerAndSerialNumber or subjectKeyIdentifier.

        Names are compared by their encodings first (the same DER is the same name) and
        only then by asn1crypto's X.520 comparison (RFC 5280 7.1), which is slow and is
        needed only when a writer re-encoded the issuer's name.
        """
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if self.asn1.serial_number != wanted["serial_number"].native:
                return False
            issuer = wanted["issuer"]
            return bool(self.asn1.issuer.dump() == issuer.dump() or self.asn1.issuer == issuer)
        return bool(self.asn1.key_identifier == sid.chosen.native)


@functools.lru_cache(maxsize=256)
def _pair_from_der(data: bytes) -> CertificatePair:
    parsed = asn1_x509.Certificate.load(data)
    _ = parsed.issuer.native, parsed.subject.native, parsed.serial_number  # parse now
    # Computed once here, so a cached pair is not mutated later; a damaged extension
    # matters only if the pair is matched by key identifier (and fails there again).
    with contextlib.suppress(ValueError, TypeError):
        _ = parsed.key_identifier
    try:
        certificate = x509.load_der_x509_certificate(data)
    except x509.InvalidVersion as error:  # not a ValueError in cryptography
        raise ValueError(f"unsupported certificate version: {error}") from error
    _ = certificate.subject, certificate.issuer, certificate.public_key()
    _ = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    return CertificatePair(parsed, certificate)


def issuer_and_serial(pair: CertificatePair) -> bytes:
    """DER IssuerAndSerialNumber (RFC 5652 10.2.4): the issuer name and the serial number
    exactly as encoded in the certificate, copied rather than rebuilt."""
    tbs = pair.asn1["tbs_certificate"]
    return b"".join(
        der.sequence(der.raw(tbs["issuer"].dump()), der.raw(tbs["serial_number"].dump()))
    )


@dataclass(frozen=True)
class SignedDataView:
    """A SignedData read from a buffer: the content stays a view into that buffer."""

    content_type: str
    content: Buffer | None
    certificates: tuple[CertificatePair, ...]
    signer_infos: tuple[SignerInfo, ...]


def read_content_info(buf: memoryview, expected_type: str, what: str) -> tuple[memoryview, der.Tlv]:
    """The ``content`` of a ContentInfo of the expected type (RFC 5652 section 3)."""
    try:
        top = der.expect(der.read_top(buf), UNIVERSAL, der.TAG_SEQUENCE, what)
        parts = der.children(buf, top)
        if len(parts) != 2:
            raise BerError("a ContentInfo must hold a content type and a content")
        kind = der.oid_value(buf, parts[0], "the content type")
        if kind != expected_type:
            raise BerError(f"it holds content of type {kind}, not the one expected")
        wrapper = der.expect(parts[1], CONTEXT, 0, "the content")
        inner = der.children(buf, wrapper)
        if len(inner) != 1:
            raise BerError("the [0] content must hold exactly one element")
    except BerError as error:
        raise der.malformed(what, str(error)) from None
    return buf, inner[0]


def read_signed_data(buf: memoryview, what: str) -> SignedDataView:
    """Parse ContentInfo(SignedData) (RFC 5652 5.1) without copying the content."""
    buf, body = read_content_info(buf, OID_SIGNED_DATA, what)
    try:
        der.expect(body, UNIVERSAL, der.TAG_SEQUENCE, "SignedData")
        fields = der.children(buf, body)
        if len(fields) < 4:
            raise BerError("SignedData has too few fields")
        der.expect(fields[0], UNIVERSAL, der.TAG_INTEGER, "the version")
        der.expect(fields[1], UNIVERSAL, der.TAG_SET, "digestAlgorithms")
        encap = der.children(buf, der.expect(fields[2], UNIVERSAL, der.TAG_SEQUENCE, "eContent"))
        if not 1 <= len(encap) <= 2:
            raise BerError("encapContentInfo has the wrong number of fields")
        content_type = der.oid_value(buf, encap[0], "eContentType")
        content: Buffer | None = None
        if len(encap) == 2:
            holder = der.children(buf, der.expect(encap[1], CONTEXT, 0, "eContent"))
            if len(holder) != 1:
                raise BerError("eContent must hold one OCTET STRING")
            octet_tlv = der.expect(holder[0], UNIVERSAL, der.TAG_OCTET_STRING, "eContent")
            content = der.octet_string(buf, octet_tlv, "eContent")
        certificates, signer_infos = _certificates_and_signers(buf, fields[3:])
    except (BerError, ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise der.malformed(what, str(error).split("\n")[0]) from None
    return SignedDataView(content_type, content, certificates, signer_infos)


def _certificates_and_signers(
    buf: memoryview, rest: list[der.Tlv]
) -> tuple[tuple[CertificatePair, ...], tuple[SignerInfo, ...]]:
    """The fields of a SignedData after encapContentInfo: [0] certificates, [1] crls,
    signerInfos (RFC 5652 5.1). A SignerInfo in plain DER is read without asn1crypto
    (the values asn1crypto would give); anything else by asn1crypto, as before."""
    certificates: list[CertificatePair] = []
    if rest and rest[0].is_(CONTEXT, 0):
        for item in der.children(buf, rest[0]):
            if item.is_(UNIVERSAL, der.TAG_SEQUENCE):  # other choices are not X.509
                certificates.append(CertificatePair.from_der(der.element_bytes(buf, item)))
        rest = rest[1:]
    if rest and rest[0].is_(CONTEXT, 1):
        rest = rest[1:]  # revocation info is not used: status comes from the caller
    if len(rest) != 1:
        raise BerError("signerInfos is missing or followed by unexpected data")
    signer_set = der.expect(rest[0], UNIVERSAL, der.TAG_SET, "signerInfos")
    signer_infos: list[SignerInfo] = []
    for item in der.children(buf, signer_set):
        encoded = der.element_bytes(buf, item)
        plain = read_plain_signer_info(encoded)
        signer_infos.append(plain if plain is not None else _asn1_signer_info(encoded))
    return tuple(certificates), tuple(signer_infos)


def _asn1_signer_info(encoded: bytes) -> asn1_cms.SignerInfo:
    """A SignerInfo read by asn1crypto, its damage surfaced now (it parses lazily)."""
    signer_info = asn1_cms.SignerInfo.load(encoded)
    for name in ("sid", "signature"):
        _ = signer_info[name].native
    _ = signer_info["digest_algorithm"].native
    algorithm = signer_info["signature_algorithm"]
    if algorithm["algorithm"].native != "rsassa_pss":
        _ = algorithm.native
    # RSASSA-PSS parameters (RFC 4055 3.1) are read once per encoding by the signature
    # check (pki.cms_signature); converting them here for every message cost a fifth of
    # a 1 KB unseal.
    return signer_info


@dataclass(frozen=True, slots=True)
class SignedDataLayout:
    """Where the id-data content of a DER-framed ContentInfo(SignedData) lies, read from
    its first bytes: everything before the content is headers and small fields."""

    content_type: str
    content_start: int
    content_length: int
    total: int
    """The length of the whole ContentInfo."""


def signed_data_layout(head: memoryview, limit: int) -> SignedDataLayout | None:
    """The layout of a ContentInfo(SignedData) of at most ``limit`` bytes that starts with
    ``head``, or None unless every element up to the content is in ``head`` with a
    definite length and the content is one primitive OCTET STRING ending its
    encapContentInfo (what ehcert and the eHealth libraries write). Anything else (BER
    from other writers) is left to :func:`read_signed_data` on the whole buffer."""
    try:
        top = der.read_header(head, 0, limit)
        oid = der.read_tlv(head, top.content_start, len(head))
        wrapper = der.read_header(head, oid.end, top.end)
        body = der.read_header(head, wrapper.content_start, wrapper.end)
        version = der.read_tlv(head, body.content_start, len(head))
        digests = der.read_tlv(head, version.end, len(head))
        encap = der.read_header(head, digests.end, body.end)
        content_type = der.read_tlv(head, encap.content_start, len(head))
        explicit = der.read_header(head, content_type.end, encap.end)
        octets = der.read_header(head, explicit.content_start, explicit.end)
        framed = (
            top.is_(UNIVERSAL, der.TAG_SEQUENCE)
            and der.oid_value(head, oid, "the content type") == OID_SIGNED_DATA
            and wrapper.is_(CONTEXT, 0)
            and wrapper.end == top.end
            and body.is_(UNIVERSAL, der.TAG_SEQUENCE)
            and body.end == top.end
            and version.is_(UNIVERSAL, der.TAG_INTEGER)
            and digests.is_(UNIVERSAL, der.TAG_SET)
            and encap.is_(UNIVERSAL, der.TAG_SEQUENCE)
            and explicit.is_(CONTEXT, 0)
            and explicit.end == encap.end
            and octets.is_(UNIVERSAL, der.TAG_OCTET_STRING)
            and not octets.constructed
            and octets.end == explicit.end
        )
        if not framed:
            return None
        kind = der.oid_value(head, content_type, "eContentType")
    except BerError:
        return None
    return SignedDataLayout(kind, octets.content_start, octets.end - octets.content_start, top.end)


def read_split_signed_data(head: bytes, content: bytes, tail: bytes, what: str) -> SignedDataView:
    """:func:`read_signed_data` for a ContentInfo(SignedData) held in three pieces: the
    bytes before its content (``head``, as :func:`signed_data_layout` accepted it), the
    content, and the bytes after it (``tail``: certificates and signerInfos)."""
    view = memoryview(head)
    layout = signed_data_layout(view, len(head) + len(content) + len(tail))
    if layout is None or layout.content_start != len(head) or layout.content_length != len(content):
        raise der.malformed(what, "its parts do not fit together")
    tail_view = memoryview(tail)
    try:
        rest = der.children(tail_view, der.Tlv(0, True, 16, 0, 0, len(tail), len(tail)))
        if not rest:
            raise BerError("SignedData has too few fields")
        certificates, signer_infos = _certificates_and_signers(tail_view, rest)
    except (BerError, ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise der.malformed(what, str(error).split("\n")[0]) from None
    return SignedDataView(layout.content_type, content, certificates, signer_infos)


def check_signer(
    signer_info: SignerInfo,
    content_type: str,
    content: Buffer,
    signer: CertificatePair,
    what: str,
    *,
    allow_sha1: bool = False,
) -> SignerCheck:
    """Check one SignerInfo over ``content`` with ``signer``'s key: the product's one CMS
    signature check (:func:`ehcert.pki.cms_signature.verify_signer_info`)."""
    return verify_signer_info(
        signer_info, content_type, content, signer.certificate, what, allow_sha1=allow_sha1
    )


# ---------------------------------------------------------------------------- writing


def _signing_time(moment: dt.datetime) -> bytes:
    """UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5652 section 11.3), both in
    the DER form of X.690 11.7-11.8: seconds present, no fraction, ``Z``."""
    moment = moment.astimezone(dt.UTC)
    if 1950 <= moment.year <= 2049:
        return der.header(0x17, 13) + moment.strftime("%y%m%d%H%M%SZ").encode()
    text = f"{moment.year:04d}" + moment.strftime("%m%d%H%M%SZ")
    return der.header(0x18, len(text)) + text.encode()


def _oid(dotted: str) -> bytes:
    return bytes(core.ObjectIdentifier(dotted).dump())


_ATTRIBUTE_TYPES = {
    oid: _oid(oid) for oid in (OID_CONTENT_TYPE, OID_SIGNING_TIME, OID_MESSAGE_DIGEST)
}
_CONTENT_TYPES = {oid: _oid(oid) for oid in (OID_DATA, OID_SIGNED_DATA, OID_ENVELOPED_DATA)}
_DATA_OID = _CONTENT_TYPES[OID_DATA]
_SIGNED_DATA_OID = _CONTENT_TYPES[OID_SIGNED_DATA]


def _attribute(oid: str, value: bytes) -> bytes:
    return b"".join(der.sequence(der.raw(_ATTRIBUTE_TYPES[oid]), der.set_of([value])))


def signed_attributes(content_type: str, digest: bytes, signing_time: dt.datetime) -> list[bytes]:
    """contentType, signingTime, messageDigest (RFC 5652 section 11), each one value.

    Written directly as DER (each is a fixed-form primitive): building them with
    asn1crypto cost more than the content digest of a 1 KB message.
    """
    content_type_der = _CONTENT_TYPES.get(content_type) or _oid(content_type)
    return [
        _attribute(OID_CONTENT_TYPE, content_type_der),
        _attribute(OID_SIGNING_TIME, _signing_time(signing_time)),
        _attribute(OID_MESSAGE_DIGEST, b"".join(der.octets(digest))),
    ]


PSS_SHA256 = algos.SignedDigestAlgorithm(
    {
        "algorithm": "rsassa_pss",
        "parameters": {
            "hash_algorithm": {"algorithm": "sha256"},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
            "salt_length": 32,
        },
    }
).dump()
RSA_PKCS1 = algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}).dump()
SHA256 = algos.DigestAlgorithm({"algorithm": "sha256"}).dump()
ECDSA_SHA256 = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}).dump()
ECDSA_SHA384 = algos.SignedDigestAlgorithm({"algorithm": "sha384_ecdsa"}).dump()
"""ecdsa-with-SHA256/384, parameters absent (RFC 5758 section 3.2)."""


_VERSION_1 = b"\x02\x01\x01"
_DIGEST_IDENTIFIERS: dict[str, bytes] = {}


def digest_identifier(name: str) -> bytes:
    """DER DigestAlgorithmIdentifier of ``name`` (asn1crypto's spelling), built once."""
    found = _DIGEST_IDENTIFIERS.get(name)
    if found is None:
        found = _DIGEST_IDENTIFIERS[name] = bytes(algos.DigestAlgorithm({"algorithm": name}).dump())
    return found


def signer_info(
    signer: CertificatePair,
    *,
    digest: bytes,
    digest_algorithm: str,
    sign: Callable[[bytes], bytes],
    signature_algorithm: bytes,
    signing_time: dt.datetime,
) -> bytes:
    """DER SignerInfo (RFC 5652 5.3), version 1 by issuerAndSerialNumber, over the content
    whose ``digest`` is given: the signature covers the DER of the signed attributes
    (RFC 5652 5.4), so the content itself is not needed here."""
    attributes_set = b"".join(der.set_of(signed_attributes(OID_DATA, digest, signing_time)))
    signature = sign(attributes_set)
    return b"".join(
        der.sequence(
            der.raw(_VERSION_1),
            der.raw(issuer_and_serial(signer)),
            der.raw(digest_identifier(digest_algorithm)),
            [b"\xa0" + attributes_set[1:]],  # the same SET, [0] IMPLICIT (RFC 5652 5.3)
            der.raw(signature_algorithm),
            der.octets(signature),
        )
    )


def signed_data_frame(
    content_length: int,
    *,
    digest_algorithm: str,
    certificates: Sequence[CertificatePair],
    signer_info_der: bytes,
) -> tuple[bytes, bytes]:
    """What goes before and after ``content_length`` bytes of id-data content to make a
    DER ContentInfo(SignedData) (RFC 5652 5.1-5.2): ``prefix + content + suffix``.

    Every length in the prefix is known from the content's length alone, so a caller can
    stream the content (or its ciphertext) between the two without holding it in parts.
    Version 1: issuerAndSerialNumber, id-data, X.509 certificates only (5.1).
    """
    octet_header = der.header(0x04, content_length)
    explicit_header = der.header(0xA0, len(octet_header) + content_length)
    encap_length = len(_DATA_OID) + len(explicit_header) + len(octet_header) + content_length
    encap_header = der.header(0x30, encap_length)
    digest_set = b"".join(der.set_of([digest_identifier(digest_algorithm)]))
    certificate_part = b""
    if certificates:
        certificate_part = b"".join(der.wrap(0xA0, [c.asn1.dump() for c in certificates]))
    suffix = certificate_part + b"".join(der.set_of([signer_info_der]))
    body_length = len(_VERSION_1) + len(digest_set) + len(encap_header) + encap_length + len(suffix)
    body_header = der.header(0x30, body_length)
    content_header = der.header(0xA0, len(body_header) + body_length)
    info_length = len(_SIGNED_DATA_OID) + len(content_header) + len(body_header) + body_length
    prefix = b"".join(
        (
            der.header(0x30, info_length),
            _SIGNED_DATA_OID,
            content_header,
            body_header,
            _VERSION_1,
            digest_set,
            encap_header,
            _DATA_OID,
            explicit_header,
            octet_header,
        )
    )
    return prefix, suffix


def build_signed_data(
    content: Parts,
    *,
    signer: CertificatePair,
    sign: Callable[[bytes], bytes],
    signature_algorithm: bytes,
    certificates: Sequence[CertificatePair],
    signing_time: dt.datetime,
    digest_algorithm: str = "sha256",
) -> Parts:
    """ContentInfo(SignedData) over id-data ``content`` as parts (RFC 5652 5.1-5.4).

    ``sign(message) -> signature`` signs the DER of the signed attributes with the
    ``digest_algorithm`` hash (asn1crypto's name: ``sha256``, ``sha384``), which is also
    the digest of the content.
    """
    info = signer_info(
        signer,
        digest=digest_of(digest_algorithm, content),
        digest_algorithm=digest_algorithm,
        sign=sign,
        signature_algorithm=signature_algorithm,
        signing_time=signing_time,
    )
    prefix, suffix = signed_data_frame(
        der.parts_length(content),
        digest_algorithm=digest_algorithm,
        certificates=certificates,
        signer_info_der=info,
    )
    return [prefix, *content, suffix]

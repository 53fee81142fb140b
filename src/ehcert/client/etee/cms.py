"""CMS (RFC 5652) pieces for sealed messages: read and write SignedData and SignerInfos.

The big structures are walked with :mod:`ehcert.client.etee.der` (zero copy); the small
ones (certificates, SignerInfo, algorithm identifiers) go through asn1crypto. Checking a
signature is split in two outcomes on purpose:

* a *malformed* structure (RFC 5652 says MUST and the data breaks it so that no meaning
  can be given to it: two signingTime values, no content-type attribute next to other
  signed attributes...) raises ``EhcertError(MALFORMED)``;
* a *well-formed but invalid* signature (wrong digest, bad signature value, algorithm
  outside the allowed set) is returned as data issues, so the caller can report every
  reason at once.

Allowed algorithms (the eHealth ETEE profile, SHA-2 only): digests SHA-256/384/512;
signatures RSASSA-PKCS1-v1_5 or RSASSA-PSS (RFC 4055: MGF1 with the same SHA-2 hash,
trailer field 1). SHA-1 and SHA-224 are refused (the interop fixtures expect SHA-224 to
be refused), and so is anything that is not RSA.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from asn1crypto import algos, core
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import Encoding

from ehcert.client.etee import der
from ehcert.client.etee.der import CONTEXT, UNIVERSAL, BerError, Buffer, Parts

OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
NOT_ALLOWED = "algorithm_not_allowed"
DIGEST_MISMATCH = "digest_mismatch"
SIGNATURE_INVALID = "signature_invalid"

ALLOWED_DIGESTS = frozenset({"sha256", "sha384", "sha512"})
_PKCS1_SIGNATURES = {
    "rsassa_pkcs1v15": None,  # rsaEncryption: the hash is the SignerInfo's digest
    "sha1_rsa": "sha1",
    "sha224_rsa": "sha224",
    "sha256_rsa": "sha256",
    "sha384_rsa": "sha384",
    "sha512_rsa": "sha512",
}


def name_of_hash(name: str) -> str:
    return name.upper().replace("SHA", "SHA-") if name.startswith("sha") else name


@dataclass(frozen=True)
class CertificatePair:
    """One certificate as both libraries see it: asn1crypto for exact names, cryptography
    for keys and validation."""

    asn1: asn1_x509.Certificate
    certificate: x509.Certificate

    @classmethod
    def from_der(cls, data: bytes) -> CertificatePair:
        parsed = asn1_x509.Certificate.load(data)
        _ = parsed.issuer.native, parsed.subject.native, parsed.serial_number  # parse now
        try:
            certificate = x509.load_der_x509_certificate(data)
        except x509.InvalidVersion as error:  # not a ValueError in cryptography
            raise ValueError(f"unsupported certificate version: {error}") from error
        _ = certificate.subject, certificate.issuer, certificate.public_key()
        _ = certificate.not_valid_before_utc, certificate.not_valid_after_utc
        return cls(parsed, certificate)

    @classmethod
    def from_certificate(cls, certificate: x509.Certificate) -> CertificatePair:
        return cls.from_der(certificate.public_bytes(Encoding.DER))

    def matches(self, sid: asn1_cms.SignerIdentifier | asn1_cms.RecipientIdentifier) -> bool:
        """RFC 5652 5.3 / 6.2.1: issuerAndSerialNumber or subjectKeyIdentifier."""
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            return bool(
                self.asn1.serial_number == wanted["serial_number"].native
                and self.asn1.issuer == wanted["issuer"]
            )
        return bool(self.asn1.key_identifier == sid.chosen.native)


def issuer_and_serial(pair: CertificatePair) -> bytes:
    """DER IssuerAndSerialNumber, with the issuer name exactly as encoded in the cert."""
    return bytes(
        asn1_cms.IssuerAndSerialNumber(
            {"issuer": pair.asn1.issuer, "serial_number": pair.asn1.serial_number}
        ).dump()
    )


@dataclass(frozen=True)
class SignedDataView:
    """A SignedData read from a buffer: the content stays a view into that buffer."""

    content_type: str
    content: Buffer | None
    certificates: tuple[CertificatePair, ...]
    signer_infos: tuple[asn1_cms.SignerInfo, ...]


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
        certificates: list[CertificatePair] = []
        rest = fields[3:]
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
        signer_infos = tuple(
            asn1_cms.SignerInfo.load(der.element_bytes(buf, item))
            for item in der.children(buf, signer_set)
        )
        for signer_info in signer_infos:  # asn1crypto parses lazily: surface damage here
            for name in ("sid", "digest_algorithm", "signature_algorithm", "signature"):
                _ = signer_info[name].native
    except (BerError, ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise der.malformed(what, str(error).split("\n")[0]) from None
    return SignedDataView(content_type, content, tuple(certificates), signer_infos)


# ---------------------------------------------------------------------------- attributes


class _AnyValues(core.SetOf):  # type: ignore[misc]
    _child_spec = core.Any


class _Attribute(core.Sequence):  # type: ignore[misc]
    _fields = [("type", core.ObjectIdentifier), ("values", _AnyValues)]  # noqa: RUF012


class _Attributes(core.SetOf):  # type: ignore[misc]
    _child_spec = _Attribute


@dataclass
class SignerCheck:
    """What checking one SignerInfo found: the data issues and the facts for the report."""

    digest_algorithm: str
    signature_algorithm: str
    signing_time: dt.datetime | None = None
    signature_valid: bool = False
    issues: list[tuple[str, str]] = field(default_factory=list)  # (code, sentence)


def _signed_attributes(
    signer_info: asn1_cms.SignerInfo, what: str
) -> tuple[bytes, dict[str, list[bytes]]] | None:
    """DER of the signed attributes as signed (RFC 5652 5.4: with a SET OF tag) and their
    values by OID, or None when there are none. asn1crypto's own attribute classes are
    avoided: they refuse attributes they know with unexpected content (timestamping
    profiles add such), which must not make the whole message unreadable."""
    attributes = signer_info["signed_attrs"]
    if isinstance(attributes, core.Void) or attributes.contents is None:
        return None
    signed = b"\x31" + der.encode_length(len(attributes.contents)) + attributes.contents
    try:
        parsed = _Attributes.load(signed)
        values: dict[str, list[bytes]] = {}
        for attribute in parsed:
            oid = attribute["type"].dotted
            if oid in values:
                raise der.malformed(what, f"the signed attribute {oid} appears twice")
            values[oid] = [value.dump() for value in attribute["values"]]
    except ValueError as error:
        raise der.malformed(what, f"its signed attributes are damaged ({error})") from None
    return signed, values


def _single(values: dict[str, list[bytes]], oid: str, label: str, what: str) -> bytes | None:
    found = values.get(oid)
    if found is None:
        return None
    if len(found) != 1:
        raise der.malformed(
            what, f"its {label} attribute has {len(found)} values (RFC 5652 section 11 allows one)"
        )
    return found[0]


def _signature_scheme(
    signer_info: asn1_cms.SignerInfo, digest: str, issues: list[tuple[str, str]]
) -> tuple[padding.AsymmetricPadding, str] | None:
    """The padding and hash the signature algorithm calls for, or None when unusable."""
    algorithm = signer_info["signature_algorithm"]
    name = algorithm["algorithm"].native
    if name in _PKCS1_SIGNATURES:
        implied = _PKCS1_SIGNATURES[name] or digest
        if implied != digest:
            issues.append(
                (NOT_ALLOWED, f"the signature algorithm {name} does not match the digest {digest}")
            )
        return padding.PKCS1v15(), implied
    if name == "rsassa_pss":
        params = algorithm["parameters"]
        hash_name = params["hash_algorithm"]["algorithm"].native
        mgf = params["mask_gen_algorithm"]
        mgf_hash = mgf["parameters"]["algorithm"].native
        if mgf["algorithm"].native != "mgf1" or mgf_hash not in _HASHES:
            issues.append(
                (NOT_ALLOWED, "the PSS signature uses a mask generation function other than MGF1")
            )
            return None
        if hash_name != digest or mgf_hash != digest:
            issues.append(
                (NOT_ALLOWED, "the PSS hash or MGF1 hash differs from the digest algorithm")
            )
        if params["trailer_field"].native != "trailer_field_bc":
            issues.append((NOT_ALLOWED, "the PSS trailer field is not 1 (RFC 4055 section 3.1)"))
            return None
        if hash_name not in ALLOWED_DIGESTS or mgf_hash not in ALLOWED_DIGESTS:
            issues.append((NOT_ALLOWED, f"the PSS hash {name_of_hash(hash_name)} is not allowed"))
        if hash_name not in _HASHES:
            return None
        pss = padding.PSS(
            mgf=padding.MGF1(_HASHES[mgf_hash]()), salt_length=params["salt_length"].native
        )
        return pss, hash_name
    issues.append(
        (NOT_ALLOWED, f"the signature algorithm {name} is not allowed (RSA with SHA-2 only)")
    )
    return None


def check_signer(
    signer_info: asn1_cms.SignerInfo,
    content_type: str,
    content: Buffer,
    signer: CertificatePair,
    what: str,
) -> SignerCheck:
    """Check one SignerInfo over ``content`` with ``signer``'s key (RFC 5652 5.4 and 5.6)."""
    try:
        digest = signer_info["digest_algorithm"]["algorithm"].native
        signature_name = signer_info["signature_algorithm"]["algorithm"].native
        signature = signer_info["signature"].native
        attributes = _signed_attributes(signer_info, what)
    except (ValueError, KeyError) as error:
        raise der.malformed(what, f"its SignerInfo is damaged ({error})") from None
    check = SignerCheck(digest, signature_name)
    if digest not in ALLOWED_DIGESTS:
        check.issues.append(
            (NOT_ALLOWED, f"the digest algorithm {name_of_hash(digest)} is not allowed")
        )
    if digest not in _HASHES:
        return check
    content_digest = _digest(digest, [content])
    signed_message = content_digest
    if attributes is not None:
        signed_der, values = attributes
        type_value = _single(values, OID_CONTENT_TYPE, "content-type", what)
        digest_value = _single(values, OID_MESSAGE_DIGEST, "message-digest", what)
        time_value = _single(values, OID_SIGNING_TIME, "signing-time", what)
        if type_value is None or digest_value is None:
            raise der.malformed(
                what, "its signed attributes lack content-type or message-digest (RFC 5652 5.3)"
            )
        try:
            if core.ObjectIdentifier.load(type_value).dotted != content_type:
                check.issues.append(
                    (DIGEST_MISMATCH, "the content-type attribute does not match the content")
                )
            if core.OctetString.load(digest_value).native != content_digest:
                check.issues.append(
                    (DIGEST_MISMATCH, "the message digest does not match the content")
                )
            if time_value is not None:
                check.signing_time = asn1_cms.Time.load(time_value).native
        except ValueError as error:
            raise der.malformed(what, f"a signed attribute is damaged ({error})") from None
        signed_message = _digest(digest, [signed_der])
    elif content_type != OID_DATA:
        raise der.malformed(what, "content other than id-data is signed without attributes")
    scheme = _signature_scheme(signer_info, digest, check.issues)
    key = signer.certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        check.issues.append((NOT_ALLOWED, "the signer's key is not an RSA key"))
        return check
    if scheme is None:
        return check
    pad, hash_name = scheme
    if hash_name != digest:
        return check  # the digest computed does not fit the scheme: cannot be valid
    try:
        key.verify(signature, signed_message, pad, Prehashed(_HASHES[digest]()))
        check.signature_valid = True
    except (InvalidSignature, ValueError):
        check.issues.append(
            (SIGNATURE_INVALID, "the signature value does not verify with the signer's key")
        )
    return check


def _digest(name: str, parts: Sequence[Buffer]) -> bytes:
    hasher = hashes.Hash(_HASHES[name]())
    for part in parts:
        hasher.update(part)
    return hasher.finalize()


# ---------------------------------------------------------------------------- writing


def _signing_time(moment: dt.datetime) -> bytes:
    """UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5652 section 11.3)."""
    moment = moment.astimezone(dt.UTC).replace(microsecond=0)
    if 1950 <= moment.year <= 2049:
        return bytes(core.UTCTime(moment).dump())
    return bytes(core.GeneralizedTime(moment).dump())


def _attribute(oid: str, value: bytes) -> bytes:
    return b"".join(der.sequence(der.raw(core.ObjectIdentifier(oid).dump()), der.set_of([value])))


def signed_attributes(content_type: str, digest: bytes, signing_time: dt.datetime) -> list[bytes]:
    """contentType, signingTime, messageDigest (RFC 5652 section 11), each one value."""
    return [
        _attribute(OID_CONTENT_TYPE, core.ObjectIdentifier(content_type).dump()),
        _attribute(OID_SIGNING_TIME, _signing_time(signing_time)),
        _attribute(OID_MESSAGE_DIGEST, core.OctetString(digest).dump()),
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


def build_signed_data(
    content: Parts,
    *,
    signer: CertificatePair,
    sign: Callable[[bytes], bytes],
    signature_algorithm: bytes,
    certificates: Sequence[CertificatePair],
    signing_time: dt.datetime,
) -> Parts:
    """ContentInfo(SignedData) over id-data ``content`` as parts (RFC 5652 5.1-5.4).

    ``sign(message) -> signature`` signs the DER of the signed attributes; SHA-256 is the
    digest. Version 1: issuerAndSerialNumber, id-data, X.509 certificates only (5.1).
    """
    digest = _digest("sha256", content)
    attributes = signed_attributes(OID_DATA, digest, signing_time)
    attributes_set = b"".join(der.set_of(attributes))
    signature = sign(attributes_set)
    signer_info = der.sequence(
        der.raw(core.Integer(1).dump()),
        der.raw(issuer_and_serial(signer)),
        der.raw(SHA256),
        [b"\xa0" + attributes_set[1:]],  # the same SET, [0] IMPLICIT (RFC 5652 5.3)
        der.raw(signature_algorithm),
        der.octets(signature),
    )
    certificate_parts: Parts = []
    if certificates:
        certificate_parts = der.wrap(0xA0, [c.asn1.dump() for c in certificates])
    body = der.sequence(
        der.raw(core.Integer(1).dump()),
        der.set_of([SHA256]),
        der.sequence(
            der.raw(core.ObjectIdentifier(OID_DATA).dump()),
            der.explicit(0, der.wrap(0x04, content)),
        ),
        certificate_parts,
        der.set_of([b"".join(signer_info)]),
    )
    return der.sequence(
        der.raw(core.ObjectIdentifier(OID_SIGNED_DATA).dump()), der.explicit(0, body)
    )

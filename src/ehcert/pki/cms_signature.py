"""The one check of a CMS SignerInfo (RFC 5652 sections 5.3, 5.4, 5.6 and 11).

ETKs (the depot's signature, :mod:`ehcert.pki.etk`) and sealed messages (both signatures
of a triple-wrapped message, :mod:`ehcert.client.etee.cms`) are verified here and nowhere
else, so one rule set applies to every CMS signature the product reads.

Checking splits in two outcomes on purpose:

* a *malformed* SignerInfo (RFC 5652 says MUST and the data breaks it so that no meaning
  can be given to it: an attribute twice, two signing-time values, signed attributes
  without content-type or message-digest, content other than id-data signed without
  attributes) raises ``EhcertError(MALFORMED)`` naming the part (``what``);
* a *well-formed but invalid* signature (wrong digest or content type, bad signature
  value, algorithm outside the allowed set) is returned as issues, so the caller can
  report every reason at once.

Allowed algorithms (the eHealth ETEE profile): digests SHA-256/384/512; signatures
RSASSA-PKCS1-v1_5 or RSASSA-PSS (RFC 4055 section 3.1: MGF1 with the digest's hash,
trailer field 1) with an RSA key, and ECDSA with an EC key (RFC 5753 section 2.1.1,
RFC 5758 section 3.2: ecdsa-with-SHA256/384/512 whose hash is the digest algorithm, the
signature value the DER ECDSA-Sig-Value). SHA-1 is accepted only when the caller passes
``allow_sha1=True`` (the 2014 platform's messages and ETKs), and then
:attr:`SignerCheck.sha1_used` says so, so the caller reports it as a trust warning.
SHA-224, DSA, EdDSA and a signature algorithm that does not fit the key are refused.
Which keys and curves are acceptable at all is the key policy's (``core.keys``), judged
by the callers with the certificate.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from asn1crypto import algos, core
from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from ehcert.core.errors import EhcertError, ErrorKind

__all__ = [
    "ALLOWED_DIGESTS",
    "DIGEST_MISMATCH",
    "NOT_ALLOWED",
    "OID_CONTENT_TYPE",
    "OID_DATA",
    "OID_MESSAGE_DIGEST",
    "OID_SIGNING_TIME",
    "SIGNATURE_INVALID",
    "PlainSignerInfo",
    "SignerCheck",
    "digest_of",
    "name_of_hash",
    "plain_tlv",
    "read_plain_signer_info",
    "verify_signer_info",
]

OID_DATA = "1.2.840.113549.1.7.1"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"

NOT_ALLOWED = "algorithm_not_allowed"
DIGEST_MISMATCH = "digest_mismatch"
SIGNATURE_INVALID = "signature_invalid"

ALLOWED_DIGESTS = frozenset({"sha256", "sha384", "sha512"})
SHA1 = "sha1"
_HASHES = frozenset({"sha1", "sha224", "sha256", "sha384", "sha512"})
"""The hashes a SignerInfo may name and be computed (asn1crypto's names); which of them
are allowed is decided by ``ALLOWED_DIGESTS`` and ``allow_sha1``."""
_PKCS1_SIGNATURES = {
    "rsassa_pkcs1v15": None,  # rsaEncryption: the hash is the SignerInfo's digest
    "sha1_rsa": "sha1",
    "sha224_rsa": "sha224",
    "sha256_rsa": "sha256",
    "sha384_rsa": "sha384",
    "sha512_rsa": "sha512",
}
_ECDSA_SIGNATURES = {
    "ecdsa": None,  # id-ecPublicKey-style bare OID: the hash is the SignerInfo's digest
    "sha1_ecdsa": "sha1",
    "sha224_ecdsa": "sha224",
    "sha256_ecdsa": "sha256",
    "sha384_ecdsa": "sha384",
    "sha512_ecdsa": "sha512",
}
Content = bytes | bytearray | memoryview


@dataclass(frozen=True)
class _Scheme:
    """How to check the signature value: the key type it needs, the RSA padding (None
    for ECDSA) and the hash."""

    key_type: str
    padding: padding.AsymmetricPadding | None
    hash_name: str


def name_of_hash(name: str) -> str:
    """``sha256`` -> ``SHA-256``, for sentences."""
    return name.upper().replace("SHA", "SHA-") if name.startswith("sha") else name


def hash_algorithm(name: str) -> hashes.HashAlgorithm:
    """The ``cryptography`` hash of an asn1crypto name in ``_HASHES`` (``sha256`` ->
    ``hashes.SHA256()``)."""
    if name not in _HASHES:
        raise ValueError(f"unsupported hash {name}")
    algorithm: hashes.HashAlgorithm = getattr(hashes, name.upper())()
    return algorithm


def digest_of(name: str, parts: Sequence[Content]) -> bytes:
    """The ``name`` hash (asn1crypto's spelling) over ``parts`` in order."""
    hasher = hashes.Hash(hash_algorithm(name))
    for part in parts:
        hasher.update(part)
    return hasher.finalize()


def _malformed(what: str, reason: str, field_name: str) -> EhcertError:
    return EhcertError(
        ErrorKind.MALFORMED, f"The {what} cannot be read: {reason}.", field=field_name
    )


@dataclass
class SignerCheck:
    """What checking one SignerInfo found: the issues and the facts for a report.

    ``issues`` are ``(code, sentence)`` pairs; ``sha1_used`` is true when SHA-1 was
    accepted because the caller allowed it (to be reported as a trust warning).
    """

    digest_algorithm: str
    signature_algorithm: str
    signing_time: dt.datetime | None = None
    signature_valid: bool = False
    sha1_used: bool = False
    issues: list[tuple[str, str]] = field(default_factory=list)


class _AnyValues(core.SetOf):  # type: ignore[misc]
    _child_spec = core.Any


class _Attribute(core.Sequence):  # type: ignore[misc]
    _fields = [("type", core.ObjectIdentifier), ("values", _AnyValues)]  # noqa: RUF012


class _Attributes(core.SetOf):  # type: ignore[misc]
    _child_spec = _Attribute


@dataclass(frozen=True)
class _Context:
    what: str
    field_name: str
    allowed_digests: frozenset[str]

    def malformed(self, reason: str) -> EhcertError:
        return _malformed(self.what, reason, self.field_name)


def _signed_attributes(
    signer_info: asn1_cms.SignerInfo, context: _Context
) -> tuple[bytes, dict[str, list[bytes]]] | None:
    """DER of the signed attributes as signed (RFC 5652 5.4: with a SET OF tag) and their
    values by OID, or None when there are none."""
    attributes = signer_info["signed_attrs"]
    if isinstance(attributes, core.Void) or attributes.contents is None:
        return None
    return _attribute_values(bytes(_AnyValues(contents=attributes.contents).dump()), context)


def _attribute_values(signed: bytes, context: _Context) -> tuple[bytes, dict[str, list[bytes]]]:
    """``signed`` (a DER SET OF Attribute) and its values by OID. asn1crypto's own
    attribute classes are avoided: they refuse attributes they know with unexpected
    content (timestamping profiles add such), which must not make the whole message
    unreadable."""
    plain = _plain_attribute_values(signed)
    if plain is not None:
        return signed, plain
    try:
        parsed = _Attributes.load(signed)
        values: dict[str, list[bytes]] = {}
        for attribute in parsed:
            oid = attribute["type"].dotted
            if oid in values:
                raise context.malformed(f"the signed attribute {oid} appears twice")
            values[oid] = [value.dump() for value in attribute["values"]]
    except ValueError as error:
        raise context.malformed(f"its signed attributes are damaged ({error})") from None
    return signed, values


def plain_tlv(data: bytes, offset: int, limit: int) -> tuple[int, int, int] | None:
    """Identifier octet, content start and end of the DER element at ``offset``; None for
    anything but a low tag number with a definite length inside ``limit`` (X.690 8.1)."""
    if offset + 2 > limit or data[offset] & 0x1F == 0x1F:
        return None
    length, position = data[offset + 1], offset + 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4 or position + count > limit:
            return None
        length = int.from_bytes(data[position : position + count], "big")
        position += count
    end = position + length
    return None if end > limit else (data[offset], position, end)


@functools.lru_cache(maxsize=64)
def _dotted(oid_der: bytes) -> str:
    return str(core.ObjectIdentifier.load(oid_der).dotted)


def _plain_attribute_values(signed: bytes) -> dict[str, list[bytes]] | None:
    """The values by OID of a SET OF Attribute (RFC 5652 5.3) in plain DER, read without
    asn1crypto: each value's encoding as it is, the same as :func:`_signed_attributes`
    gets from asn1crypto. None when anything is unusual (an indefinite length, a high tag
    number, an attribute twice, damage): asn1crypto then reads it and says what is wrong.
    Parsing the three attributes of every signature with asn1crypto cost a tenth of a
    1 KB seal+unseal."""
    top = plain_tlv(signed, 0, len(signed))
    if top is None or top[0] != 0x31 or top[2] != len(signed):
        return None
    values: dict[str, list[bytes]] = {}
    position = top[1]
    while position < len(signed):
        attribute = plain_tlv(signed, position, len(signed))
        if attribute is None or attribute[0] != 0x30:
            return None
        kind = plain_tlv(signed, attribute[1], attribute[2])
        if kind is None or kind[0] != 0x06 or kind[2] == kind[1]:
            return None
        holder = plain_tlv(signed, kind[2], attribute[2])
        if holder is None or holder[0] != 0x31 or holder[2] != attribute[2]:
            return None
        found: list[bytes] = []
        cursor = holder[1]
        while cursor < holder[2]:
            value = plain_tlv(signed, cursor, holder[2])
            if value is None:
                return None
            found.append(signed[cursor : value[2]])
            cursor = value[2]
        try:
            oid = _dotted(signed[attribute[1] : kind[2]])
        except ValueError:
            return None
        if oid in values:
            return None
        values[oid] = found
        position = attribute[2]
    return values


@dataclass(frozen=True, slots=True)
class PlainSignerInfo:
    """A SignerInfo (RFC 5652 5.3) in plain DER, read by :func:`read_plain_signer_info`:
    the fields the signature check and the signer's lookup need, with the same values
    asn1crypto gives for the same bytes."""

    sid: asn1_cms.SignerIdentifier
    digest_algorithm: str
    """asn1crypto's name of the digestAlgorithm (``sha256``), or its dotted OID."""
    signature_algorithm: str
    pss_parameters: bytes | None
    """The DER of the RSASSA-PSS parameters (RFC 4055 3.1); None for other algorithms."""
    signature: bytes
    signed_attributes: bytes | None
    """The signed attributes as signed: a DER SET OF (RFC 5652 5.4), or None if absent."""


@functools.lru_cache(maxsize=256)
def _plain_sid(sid_der: bytes) -> asn1_cms.SignerIdentifier:
    """The SignerIdentifier of ``sid_der``, read (and its damage surfaced) once: the
    same sender's sid comes back in every message. Read-only once returned."""
    sid = asn1_cms.SignerIdentifier.load(sid_der)
    _ = sid.native
    return sid


@functools.lru_cache(maxsize=64)
def _plain_digest_algorithm(identifier_der: bytes) -> str:
    identifier = algos.DigestAlgorithm.load(identifier_der)
    _ = identifier.native
    return str(identifier["algorithm"].native)


@functools.lru_cache(maxsize=64)
def _plain_signature_algorithm(identifier_der: bytes) -> tuple[str, bytes | None]:
    identifier = algos.SignedDigestAlgorithm.load(identifier_der)
    name = str(identifier["algorithm"].native)
    if name != "rsassa_pss":
        _ = identifier.native
        return name, None
    return name, bytes(identifier["parameters"].dump())


_SIGNER_INFO_TAGS = (0x02, 0x30, 0x30, 0xA0, 0x30, 0x04, 0xA1)
"""version, sid (or 0x80), digestAlgorithm, [0] signedAttrs, signatureAlgorithm,
signature, [1] unsignedAttrs: RFC 5652 5.3, in order; the two [n] are optional."""


def read_plain_signer_info(data: bytes) -> PlainSignerInfo | None:
    """``data``, a DER SignerInfo (RFC 5652 5.3), read without asn1crypto parsing it
    whole; None when anything is unusual (an indefinite length, a high tag number, a
    constructed string, an unexpected field, damage), and the caller then reads it with
    asn1crypto, which says what is wrong.

    Reading the SignerInfo with asn1crypto was about a fifth of a 1 KB seal+unseal.
    The parts that repeat from message to message (the sid, the two algorithm
    identifiers) are still read by asn1crypto, once per encoding; the rest (the
    signature and the signed attributes) is taken as it is. Unsigned attributes are not
    read, as asn1crypto's lazy reading does not read them either.
    """
    top = plain_tlv(data, 0, len(data))
    if top is None or top[0] != 0x30 or top[2] != len(data):
        return None
    fields: dict[int, tuple[int, int, int]] = {}
    position, slot = top[1], 0
    while position < top[2]:
        element = plain_tlv(data, position, top[2])
        if element is None:
            return None
        identifier = element[0]
        while slot < len(_SIGNER_INFO_TAGS) and not (
            identifier == _SIGNER_INFO_TAGS[slot] or (slot == 1 and identifier == 0x80)
        ):
            if slot not in (3, 6):  # only the [0] and [1] attributes may be left out
                return None
            slot += 1
        if slot == len(_SIGNER_INFO_TAGS):
            return None
        fields[slot] = (position, element[1], element[2])
        position, slot = element[2], slot + 1
    if not all(index in fields for index in (0, 1, 2, 4, 5)):
        return None
    version = fields[0]
    if version[2] == version[1]:
        return None
    sid, digest, algorithm, signature = fields[1], fields[2], fields[4], fields[5]
    signed: bytes | None = None
    if 3 in fields:
        _, start, end = fields[3]
        signed = b"\x31" + _length_octets(end - start) + data[start:end]
    try:
        sid_value = _plain_sid(data[sid[0] : sid[2]])
        digest_name = _plain_digest_algorithm(data[digest[0] : digest[2]])
        signature_name, pss = _plain_signature_algorithm(data[algorithm[0] : algorithm[2]])
    except Exception:  # asn1crypto also raises AttributeError on some damage
        return None  # read again by asn1crypto, which raises what it raises there
    return PlainSignerInfo(
        sid_value, digest_name, signature_name, pss, data[signature[1] : signature[2]], signed
    )


def _length_octets(length: int) -> bytes:
    """DER length octets (X.690 8.1.3, the shortest form)."""
    if length < 0x80:
        return bytes((length,))
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(encoded),)) + encoded


def _single(
    values: dict[str, list[bytes]], oid: str, label: str, context: _Context
) -> bytes | None:
    """The one value of an attribute (RFC 5652 11.1-11.3 allow exactly one), or None."""
    found = values.get(oid)
    if found is None:
        return None
    if len(found) != 1:
        raise context.malformed(
            f"its {label} attribute has {len(found)} values (RFC 5652 section 11 allows one)"
        )
    return found[0]


def _signature_scheme(
    signer_info: asn1_cms.SignerInfo | PlainSignerInfo,
    digest: str,
    check: SignerCheck,
    context: _Context,
) -> _Scheme | None:
    """The key type, padding and hash the signature algorithm calls for, or None when
    unusable."""
    issues = check.issues
    if isinstance(signer_info, PlainSignerInfo):
        name = signer_info.signature_algorithm
    else:
        name = signer_info["signature_algorithm"]["algorithm"].native
    for table, key_type in ((_PKCS1_SIGNATURES, "RSA"), (_ECDSA_SIGNATURES, "EC")):
        if name not in table:
            continue
        implied = table[name] or digest
        if implied != digest:
            issues.append(
                (NOT_ALLOWED, f"the signature algorithm {name} does not match the digest {digest}")
            )
        return _Scheme(key_type, padding.PKCS1v15() if key_type == "RSA" else None, implied)
    if name == "rsassa_pss":
        if isinstance(signer_info, PlainSignerInfo):
            parameters = signer_info.pss_parameters or b""
        else:
            parameters = signer_info["signature_algorithm"]["parameters"].dump()
        found, scheme = _pss_scheme(parameters, digest, context.allowed_digests)
        issues.extend(found)
        return scheme
    issues.append(
        (
            NOT_ALLOWED,
            f"the signature algorithm {name} is not allowed (RSA or ECDSA with SHA-2 only)",
        )
    )
    return None


@functools.lru_cache(maxsize=64)
def _pss_scheme(
    parameters_der: bytes, digest: str, allowed: frozenset[str]
) -> tuple[tuple[tuple[str, str], ...], _Scheme | None]:
    """The issues and the scheme of RSASSA-PSS parameters (RFC 4055 section 3.1).

    A pure function of the parameters' DER, kept for the few encodings in use: reading
    them with asn1crypto cost more than the RSA verification itself.
    """
    issues: list[tuple[str, str]] = []
    params = algos.RSASSAPSSParams.load(parameters_der)
    hash_name = params["hash_algorithm"]["algorithm"].native
    mgf = params["mask_gen_algorithm"]
    mgf_hash = mgf["parameters"]["algorithm"].native
    if mgf["algorithm"].native != "mgf1" or mgf_hash not in _HASHES:
        issues.append(
            (NOT_ALLOWED, "the PSS signature uses a mask generation function other than MGF1")
        )
        return tuple(issues), None
    if hash_name != digest or mgf_hash != digest:
        issues.append((NOT_ALLOWED, "the PSS hash or MGF1 hash differs from the digest algorithm"))
    if params["trailer_field"].native != "trailer_field_bc":
        issues.append((NOT_ALLOWED, "the PSS trailer field is not 1 (RFC 4055 section 3.1)"))
        return tuple(issues), None
    if hash_name not in allowed or mgf_hash not in allowed:
        issues.append((NOT_ALLOWED, f"the PSS hash {name_of_hash(hash_name)} is not allowed"))
    if hash_name not in _HASHES:
        return tuple(issues), None
    pss = padding.PSS(
        mgf=padding.MGF1(hash_algorithm(mgf_hash)), salt_length=params["salt_length"].native
    )
    return tuple(issues), _Scheme("RSA", pss, hash_name)


def _check_attributes(
    attributes: tuple[bytes, dict[str, list[bytes]]],
    content_type: str,
    content_digest: bytes,
    check: SignerCheck,
    context: _Context,
) -> None:
    """RFC 5652 5.3 and 11.1-11.3: content-type and message-digest present and matching,
    signing-time at most once."""
    _, values = attributes
    type_value = _single(values, OID_CONTENT_TYPE, "content-type", context)
    digest_value = _single(values, OID_MESSAGE_DIGEST, "message-digest", context)
    time_value = _single(values, OID_SIGNING_TIME, "signing-time", context)
    if type_value is None or digest_value is None:
        raise context.malformed(
            "its signed attributes lack content-type or message-digest (RFC 5652 5.3)"
        )
    try:
        if core.ObjectIdentifier.load(type_value).dotted != content_type:
            check.issues.append(
                (DIGEST_MISMATCH, "the content-type attribute does not match the content")
            )
        if core.OctetString.load(digest_value).native != content_digest:
            check.issues.append((DIGEST_MISMATCH, "the message digest does not match the content"))
        if time_value is not None:
            check.signing_time = asn1_cms.Time.load(time_value).native
    except ValueError as error:
        raise context.malformed(f"a signed attribute is damaged ({error})") from None


def verify_signer_info(
    signer_info: asn1_cms.SignerInfo | PlainSignerInfo,
    content_type: str,
    content: Content,
    signer_certificate: x509.Certificate,
    what: str,
    *,
    allow_sha1: bool = False,
    field_name: str = "data",
) -> SignerCheck:
    """Check one SignerInfo over ``content`` (of type ``content_type``, a dotted OID) with
    the key of ``signer_certificate`` (RFC 5652 5.4 and 5.6); see the module docstring.

    ``what`` names the signature in a MALFORMED sentence ("The {what} cannot be read:
    ..."), ``field_name`` is that error's field.
    """
    allowed = ALLOWED_DIGESTS | ({SHA1} if allow_sha1 else set())
    context = _Context(what, field_name, frozenset(allowed))
    try:
        if isinstance(signer_info, PlainSignerInfo):
            digest = signer_info.digest_algorithm
            signature_name = signer_info.signature_algorithm
            signature = signer_info.signature
            signed = signer_info.signed_attributes
            attributes = None if signed is None else _attribute_values(signed, context)
        else:
            digest = signer_info["digest_algorithm"]["algorithm"].native
            signature_name = signer_info["signature_algorithm"]["algorithm"].native
            signature = signer_info["signature"].native
            attributes = _signed_attributes(signer_info, context)
    except (ValueError, KeyError) as error:
        raise context.malformed(f"its SignerInfo is damaged ({error})") from None
    check = SignerCheck(digest, signature_name, sha1_used=allow_sha1 and digest == SHA1)
    if digest not in allowed:
        check.issues.append(
            (NOT_ALLOWED, f"the digest algorithm {name_of_hash(digest)} is not allowed")
        )
    if digest not in _HASHES:
        return check
    content_digest = digest_of(digest, [content])
    signed_message = content_digest
    if attributes is not None:
        _check_attributes(attributes, content_type, content_digest, check, context)
        signed_message = digest_of(digest, [attributes[0]])
    elif content_type != OID_DATA:
        raise context.malformed("content other than id-data is signed without attributes")
    scheme = _signature_scheme(signer_info, digest, check, context)
    key = signer_certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        check.issues.append((NOT_ALLOWED, "the signer's key is neither an RSA nor an EC key"))
        return check
    if scheme is None:
        return check
    key_type = "RSA" if isinstance(key, rsa.RSAPublicKey) else "EC"
    if scheme.key_type != key_type:
        check.issues.append(
            (
                NOT_ALLOWED,
                f"the signature algorithm {signature_name} does not fit the signer's "
                f"{key_type} key",
            )
        )
        return check
    if scheme.hash_name != digest:
        return check  # the digest computed does not fit the scheme: cannot be valid
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed_message, ec.ECDSA(Prehashed(hash_algorithm(digest))))
        else:
            pad = scheme.padding or padding.PKCS1v15()  # an RSA scheme always names one
            key.verify(signature, signed_message, pad, Prehashed(hash_algorithm(digest)))
        check.signature_valid = True
    except (InvalidSignature, ValueError):
        check.issues.append(
            (SIGNATURE_INVALID, "the signature value does not verify with the signer's key")
        )
    return check

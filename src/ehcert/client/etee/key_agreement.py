"""Key agreement for EC recipients: ephemeral-static ECDH in a KeyAgreeRecipientInfo.

RFC 5652 section 6.2.2 with the ECC profile of RFC 5753:

* the sender makes a fresh key pair on the recipient's curve for every recipient and
  puts its public half in ``originator`` as an ``originatorKey`` (id-ecPublicKey,
  parameters absent, the uncompressed point: RFC 5753 section 3.1.1, as OpenSSL writes);
* key encryption is ``dhSinglePass-stdDH-sha256kdf-scheme`` (1.3.132.1.11.1) for P-256
  and ``dhSinglePass-stdDH-sha384kdf-scheme`` (1.3.132.1.11.2) for P-384 (RFC 5753
  section 7.1.4, NSA Suite B pairing of curve and hash), whose parameter is the key-wrap
  algorithm: AES key wrap (RFC 3394, RFC 3565 section 2.3.2) of the content cipher's
  strength, parameters absent;
* the key-encryption key is the ANSI X9.63 KDF (SEC 1 section 3.6.1) of the shared
  secret Z with SharedInfo = the DER of ECC-CMS-SharedInfo (RFC 5753 section 7.2):
  the wrap algorithm, the ukm when present, and the KEK length in bits;
* the recipient is named by issuerAndSerialNumber; reading also accepts rKeyId
  (subjectKeyIdentifier).

Reading accepts the SHA-2 variants of the standard and cofactor schemes (for the prime
curves P-256 and P-384 the cofactor is 1, so both compute the same Z) and AES-128/192/256
wrap. Anything else, a point that is not on the recipient's curve or a wrapped key that
does not unwrap is refused with one sentence (:class:`KeyAgreementRefused`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from asn1crypto import cms as asn1_cms
from asn1crypto import core
from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import hashes, keywrap
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ehcert.client.etee import der
from ehcert.client.etee.cms import CertificatePair, issuer_and_serial

__all__ = [
    "KeyAgreement",
    "KeyAgreementRefused",
    "build_key_agreement",
    "matches_recipient",
]

CURVE_LABELS = {"secp256r1": "P-256", "secp384r1": "P-384"}

KDF_SCHEMES: dict[str, type[hashes.HashAlgorithm]] = {
    "1.3.132.1.11.1": hashes.SHA256,  # dhSinglePass-stdDH-sha256kdf-scheme
    "1.3.132.1.11.2": hashes.SHA384,  # dhSinglePass-stdDH-sha384kdf-scheme
    "1.3.132.1.11.3": hashes.SHA512,  # dhSinglePass-stdDH-sha512kdf-scheme
    "1.3.132.1.14.1": hashes.SHA256,  # dhSinglePass-cofactorDH-sha256kdf-scheme
    "1.3.132.1.14.2": hashes.SHA384,  # dhSinglePass-cofactorDH-sha384kdf-scheme
    "1.3.132.1.14.3": hashes.SHA512,  # dhSinglePass-cofactorDH-sha512kdf-scheme
}
"""The key agreement schemes read (RFC 5753 section 7.1.4) and their KDF hash."""

SCHEME_NAMES = {
    "1.3.132.1.11.1": "dhSinglePass-stdDH-sha256kdf-scheme",
    "1.3.132.1.11.2": "dhSinglePass-stdDH-sha384kdf-scheme",
    "1.3.132.1.11.3": "dhSinglePass-stdDH-sha512kdf-scheme",
    "1.3.132.1.14.1": "dhSinglePass-cofactorDH-sha256kdf-scheme",
    "1.3.132.1.14.2": "dhSinglePass-cofactorDH-sha384kdf-scheme",
    "1.3.132.1.14.3": "dhSinglePass-cofactorDH-sha512kdf-scheme",
}

KNOWN_REFUSED_SCHEMES = {
    "1.3.133.16.840.63.0.2": "dhSinglePass-stdDH-sha1kdf-scheme (SHA-1)",
    "1.3.133.16.840.63.0.3": "dhSinglePass-cofactorDH-sha1kdf-scheme (SHA-1)",
    "1.3.132.1.11.0": "dhSinglePass-stdDH-sha224kdf-scheme (SHA-224)",
    "1.3.132.1.14.0": "dhSinglePass-cofactorDH-sha224kdf-scheme (SHA-224)",
    "1.3.133.16.840.63.0.16": "mqvSinglePass-sha1kdf-scheme (MQV)",
}
"""Schemes that exist but are not allowed, named in the refusal."""

SCHEME_FOR_CURVE = {"secp256r1": "1.3.132.1.11.1", "secp384r1": "1.3.132.1.11.2"}
"""What :func:`build_key_agreement` writes for each curve."""

WRAPS = {
    "2.16.840.1.101.3.4.1.5": ("aes128_wrap", 16),
    "2.16.840.1.101.3.4.1.25": ("aes192_wrap", 24),
    "2.16.840.1.101.3.4.1.45": ("aes256_wrap", 32),
}
"""AES key wrap (RFC 3394) by OID: asn1crypto name and KEK size in bytes."""

WRAP_FOR_KEY_SIZE = {size: oid for oid, (_, size) in WRAPS.items()}
"""The wrap that matches the content cipher: a KEK as strong as the key it protects."""

_EC_PUBLIC_KEY = "1.2.840.10045.2.1"


class KeyAgreementRefused(ValueError):
    """A KeyAgreeRecipientInfo meant for one of our keys that cannot be used; the message
    is one sentence for the report."""


class _AlgorithmIdentifier(core.Sequence):  # type: ignore[misc]
    """AlgorithmIdentifier with any OID (asn1crypto's classes know no ECDH scheme)."""

    _fields = [  # noqa: RUF012
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class _KeyAgreeRecipientInfo(core.Sequence):  # type: ignore[misc]
    """RFC 5652 6.2.2 with the key encryption algorithm read as any OID."""

    _fields = [  # noqa: RUF012
        ("version", asn1_cms.CMSVersion),
        ("originator", asn1_cms.OriginatorIdentifierOrKey, {"explicit": 0}),
        ("ukm", core.OctetString, {"explicit": 1, "optional": True}),
        ("key_encryption_algorithm", _AlgorithmIdentifier),
        ("recipient_encrypted_keys", asn1_cms.RecipientEncryptedKeys),
    ]


class _EccCmsSharedInfo(core.Sequence):  # type: ignore[misc]
    """ECC-CMS-SharedInfo, RFC 5753 section 7.2."""

    _fields = [  # noqa: RUF012
        ("key_info", _AlgorithmIdentifier),
        ("entity_u_info", core.OctetString, {"explicit": 0, "optional": True}),
        ("supp_pub_info", core.OctetString, {"explicit": 2}),
    ]


def _kek(
    shared_secret: bytes, hash_type: type[hashes.HashAlgorithm], wrap_der: bytes, ukm: bytes | None
) -> bytes:
    """The key-encryption key: X9.63 KDF over Z with ECC-CMS-SharedInfo (RFC 5753 7.2)."""
    size, shared_info = _shared_info(wrap_der, ukm)
    return X963KDF(algorithm=hash_type(), length=size, sharedinfo=shared_info).derive(shared_secret)


@functools.lru_cache(maxsize=64)
def _shared_info(wrap_der: bytes, ukm: bytes | None) -> tuple[int, bytes]:
    """The KEK size and the DER ECC-CMS-SharedInfo (RFC 5753 7.2): a pure function of
    the wrap algorithm and the ukm, the same in every message without a ukm, so built
    once (with asn1crypto it cost as much as the KDF's ECDH)."""
    size = WRAPS[_AlgorithmIdentifier.load(wrap_der)["algorithm"].dotted][1]
    info: dict[str, object] = {
        "key_info": _AlgorithmIdentifier.load(wrap_der),
        "supp_pub_info": (size * 8).to_bytes(4, "big"),
    }
    if ukm is not None:
        info["entity_u_info"] = ukm
    return size, bytes(_EccCmsSharedInfo(info).dump())


def curve_label(curve: ec.EllipticCurve) -> str:
    return CURVE_LABELS.get(curve.name, curve.name)


def build_key_agreement(recipient: CertificatePair, content_key: bytes) -> bytes:
    """DER RecipientInfo [1] (kari) that gives ``content_key`` to ``recipient``'s EC key."""
    public_key = recipient.certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise TypeError("the recipient's key must be an EC key")
    scheme = SCHEME_FOR_CURVE.get(public_key.curve.name)
    if scheme is None:
        raise ValueError(f"no key agreement scheme for {curve_label(public_key.curve)}")
    ephemeral = ec.generate_private_key(public_key.curve)
    shared_secret = ephemeral.exchange(ec.ECDH(), public_key)
    wrap_der = _wrap_identifier(WRAP_FOR_KEY_SIZE[len(content_key)])
    kek = _kek(shared_secret, KDF_SCHEMES[scheme], wrap_der, None)
    point = ephemeral.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return key_agreement_der(
        scheme,
        wrap_der,
        issuer_and_serial(recipient),
        point,
        keywrap.aes_key_wrap(kek, content_key),
    )


@functools.lru_cache(maxsize=8)
def _wrap_identifier(oid: str) -> bytes:
    return bytes(_AlgorithmIdentifier({"algorithm": oid}).dump())


@functools.lru_cache(maxsize=64)
def _key_agreement_pieces(scheme: str, wrap_der: bytes) -> tuple[bytes, bytes]:
    """The fixed DER pieces of a KeyAgreeRecipientInfo: the originatorKey's
    AlgorithmIdentifier (id-ecPublicKey, parameters absent, RFC 5753 3.1.1) and the
    keyEncryptionAlgorithm (the scheme with its wrap as parameters, RFC 5753 7.1.5)."""
    algorithm = bytes(asn1_keys.PublicKeyAlgorithm({"algorithm": "ec"}).dump())
    key_encryption = bytes(
        _AlgorithmIdentifier({"algorithm": scheme, "parameters": core.Any.load(wrap_der)}).dump()
    )
    return algorithm, key_encryption


def key_agreement_der(
    scheme: str, wrap_der: bytes, rid_der: bytes, point: bytes, encrypted_key: bytes
) -> bytes:
    """DER RecipientInfo [1] (kari, RFC 5652 6.2.2) for one recipient named by the
    IssuerAndSerialNumber ``rid_der``: version 3, originator [0] originatorKey [1] (the
    ephemeral ``point`` as the BIT STRING of an id-ecPublicKey key, RFC 5753 3.1.1), no
    ukm, ``scheme`` with ``wrap_der`` as keyEncryptionAlgorithm, and ``encrypted_key``.

    Written directly, the fixed pieces built once per scheme and wrap: building it with
    asn1crypto was a tenth of a 1 KB EC seal+unseal.
    """
    algorithm, key_encryption = _key_agreement_pieces(scheme, wrap_der)
    public_key = der.wrap(0x03, [b"\x00", point])  # BIT STRING, no unused bits
    originator = der.wrap(0xA0, der.wrap(0xA1, [algorithm, *public_key]))
    keys = der.wrap(0x30, der.sequence(der.raw(rid_der), der.octets(encrypted_key)))
    return b"".join(der.wrap(0xA1, [b"\x02\x01\x03", *originator, key_encryption, *keys]))


@dataclass(frozen=True)
class KeyAgreement:
    """One KeyAgreeRecipientInfo as read: its parts, checked only when used."""

    info: _KeyAgreeRecipientInfo

    @classmethod
    def load(cls, recipient_info_der: bytes) -> KeyAgreement:
        """From the DER of a RecipientInfo whose tag is kari [1]."""
        info = _KeyAgreeRecipientInfo.load(b"\x30" + recipient_info_der[1:])
        _ = info.native  # asn1crypto parses lazily: surface damage here
        return cls(info)

    def describe(self) -> str:
        """``dhSinglePass-stdDH-sha384kdf-scheme with aes256_wrap``, for the report (call
        after a successful :meth:`unwrap`, which has checked both)."""
        algorithm = self.info["key_encryption_algorithm"]
        scheme = algorithm["algorithm"].dotted
        wrap = _wrap_algorithm(algorithm["parameters"].dump())
        wrap_name = "?" if wrap is None else WRAPS[wrap["algorithm"].dotted][0]
        return f"{SCHEME_NAMES.get(scheme, scheme)} with {wrap_name}"

    def recipients(self) -> list[tuple[int, asn1_cms.KeyAgreementRecipientIdentifier]]:
        return [
            (index, rek["rid"]) for index, rek in enumerate(self.info["recipient_encrypted_keys"])
        ]

    def unwrap(self, index: int, key: ec.EllipticCurvePrivateKey, size: int) -> bytes:
        """The content key for the ``index``-th recipient, computed with ``key``; raises
        KeyAgreementRefused (one sentence) when it cannot be."""
        algorithm = self.info["key_encryption_algorithm"]
        scheme = algorithm["algorithm"].dotted
        hash_type = KDF_SCHEMES.get(scheme)
        if hash_type is None:
            name = KNOWN_REFUSED_SCHEMES.get(scheme, scheme)
            raise KeyAgreementRefused(
                f"the key agreement scheme {name} is not allowed (ECDH with a SHA-2 "
                "X9.63 KDF only, RFC 5753)"
            )
        parameters = algorithm["parameters"]
        wrap = None if isinstance(parameters, core.Void) else _wrap_algorithm(parameters.dump())
        if wrap is None or wrap["algorithm"].dotted not in WRAPS:
            named = "none" if wrap is None else wrap["algorithm"].dotted
            raise KeyAgreementRefused(
                f"the key wrap algorithm ({named}) is not AES key wrap (RFC 3394)"
            )
        wrap_name, kek_size = WRAPS[wrap["algorithm"].dotted]
        if kek_size != size:
            raise KeyAgreementRefused(
                f"the key wrap {wrap_name} does not match the content cipher's {size * 8}-bit key"
            )
        ephemeral = self._originator_key(key.curve)
        ukm_value = self.info["ukm"]
        ukm = None if isinstance(ukm_value, core.Void) else ukm_value.native
        kek = _kek(key.exchange(ec.ECDH(), ephemeral), hash_type, wrap.dump(), ukm)
        encrypted = self.info["recipient_encrypted_keys"][index]["encrypted_key"].native
        try:
            content_key: bytes = keywrap.aes_key_unwrap(kek, encrypted)
        except (keywrap.InvalidUnwrap, ValueError):
            raise KeyAgreementRefused(
                "the wrapped content key does not unwrap with the agreed key (wrong key or "
                "damaged wrap)"
            ) from None
        if len(content_key) != size:
            raise KeyAgreementRefused(
                f"the unwrapped content key is {len(content_key)} bytes, not {size}"
            )
        return content_key

    def _originator_key(self, curve: ec.EllipticCurve) -> ec.EllipticCurvePublicKey:
        """The sender's ephemeral key: an originatorKey on our curve (RFC 5753 3.1.1)."""
        originator = self.info["originator"]
        label = curve_label(curve)
        if originator.name != "originator_key":
            raise KeyAgreementRefused(
                "the sender's key is named by certificate, not given as an ephemeral "
                "originatorKey (RFC 5753 section 3.1.1)"
            )
        spki = originator.chosen
        algorithm = spki["algorithm"]
        if algorithm["algorithm"].dotted != _EC_PUBLIC_KEY:
            raise KeyAgreementRefused("the sender's ephemeral key is not an EC key")
        # RFC 5753 3.1.1: parameters absent, NULL (implicitCA, for older writers) or the
        # recipient's named curve; explicit curve parameters are never accepted.
        parameters = algorithm["parameters"]
        if not isinstance(parameters, core.Void) and parameters.name != "implicit_ca":
            if parameters.name != "named":
                raise KeyAgreementRefused(
                    "the sender's ephemeral key has explicit curve parameters, which are "
                    "not accepted (RFC 5480 section 2.1.1)"
                )
            if parameters.chosen.native != curve.name:
                raise KeyAgreementRefused(
                    f"the sender's ephemeral key is on {parameters.chosen.native}, not on "
                    f"the recipient key's curve {label}"
                )
        point = bytes(spki["public_key"].native)
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
        except ValueError:
            raise KeyAgreementRefused(
                f"the sender's ephemeral public key is not a point on {label}"
            ) from None


def _wrap_algorithm(der: bytes) -> _AlgorithmIdentifier | None:
    try:
        parsed = _AlgorithmIdentifier.load(der)
        _ = parsed.native
    except ValueError:
        return None
    return parsed if isinstance(parsed, _AlgorithmIdentifier) else None


def matches_recipient(pair: CertificatePair, rid: asn1_cms.KeyAgreementRecipientIdentifier) -> bool:
    """RFC 5652 6.2.2: issuerAndSerialNumber, or rKeyId's subjectKeyIdentifier."""
    if rid.name == "issuer_and_serial_number":
        wanted = rid.chosen
        if pair.asn1.serial_number != wanted["serial_number"].native:
            return False
        issuer = wanted["issuer"]
        # The same DER is the same name; the X.520 comparison (RFC 5280 7.1) is slow
        # and needed only when a writer re-encoded the issuer's name.
        return bool(pair.asn1.issuer.dump() == issuer.dump() or pair.asn1.issuer == issuer)
    identifier = pair.asn1.key_identifier
    return identifier is not None and identifier == rid.chosen["subject_key_identifier"].native

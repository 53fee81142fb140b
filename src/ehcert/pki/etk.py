"""The eHealth encryption token (ETK): build, parse and verify.

An ETK is a CMS SignedData (RFC 5652 section 5) made by the ETK depot:

* encapsulated content (id-data): the DER of the holder's encryption certificate, which
  names the holder as subject AND issuer and is signed by the holder's authentication
  key (see ``profiles.ehealth_encryption_builder``);
* certificates: the authentication certificate, its CA chain and the depot's signer;
* one SignerInfo by the depot, identified by issuerAndSerialNumber.

Verification keeps two verdicts apart, as the eHealth ETEE libraries do:

* ``valid`` — the token and the encryption certificate themselves: the depot signature
  verifies, the encryption certificate is time-valid at ``at``, its key usage allows key
  transport for an RSA key (keyEncipherment, RFC 5280 4.2.1.3) or key agreement for an
  EC key (keyAgreement, RFC 5480 section 3), its key is within the key policy (RSA of at
  least 2048 bits, EC on P-256 or P-384: ``core.keys``);
* ``trust`` — the issuer, i.e. the authentication certificate: it signed the encryption
  certificate, both carry the same subject DN, it is time-valid, its key usage asserts
  digitalSignature and nonRepudiation (the holder commits to its encryption key; the
  eHealth authentication profile always has both), its key is within the key policy, its path
  reaches a configured anchor (RFC 5280 section 6 via ``pathval``) and, when a checker is
  given, it is not revoked. ``UNKNOWN`` means every check passed except that the path
  does not reach any configured anchor (not even by name).

Every finding is an :class:`EtkIssue` with a stable code, e.g. ``encryption_expired``,
``authentication_key_usage``, ``authentication_chain``, ``subject_mismatch``.

Building (the depot's side) lives in :mod:`ehcert.pki.etk_build`; ``build_etk`` stays
importable from here.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.cms_signature import OID_DATA, verify_signer_info
from ehcert.pki.pathval import validate_path
from ehcert.pki.public_keys import (
    allows_encryption,
    encryption_usage_name,
    public_key_problem,
)
from ehcert.pki.revocation import RevocationChecker, describe_name

__all__ = [
    "MAX_ETK_BYTES",
    "Etk",
    "EtkIssue",
    "EtkTrust",
    "EtkVerdict",
    "parse_etk",
    "verify_etk",
]

MAX_ETK_BYTES = 256 * 1024


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _malformed(reason: str) -> EhcertError:
    return EhcertError(ErrorKind.MALFORMED, f"The ETK cannot be read: {reason}.", field="etk")


# ---------------------------------------------------------------------------- parsing


def _load_certificate(data: bytes) -> x509.Certificate:
    """A certificate whose lazily parsed parts are read now, so damage shows at parsing."""
    try:
        certificate = x509.load_der_x509_certificate(data)
    except x509.InvalidVersion as error:  # not a ValueError in cryptography
        raise ValueError(f"unsupported certificate version: {error}") from error
    _ = certificate.subject, certificate.issuer, certificate.signature_hash_algorithm
    _ = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    _ = certificate.public_key(), list(certificate.extensions)
    return certificate


def _signed_by(certificate: x509.Certificate, issuer_key: object) -> bool:
    """Whether ``issuer_key`` made ``certificate``'s signature (any hash, SHA-1 included:
    this only links the two certificates; the algorithm is judged elsewhere)."""
    try:
        hash_algorithm = certificate.signature_hash_algorithm
        if isinstance(issuer_key, rsa.RSAPublicKey) and hash_algorithm is not None:
            parameters = certificate.signature_algorithm_parameters
            issuer_key.verify(
                certificate.signature,
                certificate.tbs_certificate_bytes,
                parameters,  # type: ignore[arg-type]
                hash_algorithm,
            )
        elif isinstance(issuer_key, dsa.DSAPublicKey) and hash_algorithm is not None:
            issuer_key.verify(
                certificate.signature, certificate.tbs_certificate_bytes, hash_algorithm
            )
        elif isinstance(issuer_key, ec.EllipticCurvePublicKey) and hash_algorithm is not None:
            issuer_key.verify(
                certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(hash_algorithm)
            )
        else:
            return False
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


@dataclass(frozen=True)
class Etk:
    """A parsed ETK. ``chain`` holds the other certificates (CAs), depot excluded."""

    encryption_certificate: x509.Certificate
    authentication_certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    depot_certificate: x509.Certificate | None
    signer_info: cms.SignerInfo
    raw: bytes

    @property
    def fingerprint_sha256(self) -> str:
        return hashlib.sha256(_der(self.encryption_certificate)).hexdigest()


def parse_etk(data: bytes) -> Etk:
    """Read an ETK; EhcertError(MALFORMED) with one sentence when it is not one."""
    if not isinstance(data, bytes):
        raise TypeError("data must be bytes")
    if len(data) > MAX_ETK_BYTES:
        raise _malformed(f"it is larger than {MAX_ETK_BYTES} bytes")
    try:
        info = cms.ContentInfo.load(data, strict=True)
        _ = info.native  # asn1crypto parses lazily: surface any damage here
        if info["content_type"].native != "signed_data":
            raise _malformed("it is not CMS SignedData")
        signed = info["content"]
        if signed["encap_content_info"]["content_type"].native != "data":
            raise _malformed("its content is not id-data")
        content = signed["encap_content_info"]["content"].native
        if not isinstance(content, bytes):
            raise _malformed("it carries no encryption certificate")
        encryption = _load_certificate(content)
        pool: list[tuple[asn1_x509.Certificate, x509.Certificate]] = []
        for choice in signed["certificates"] or []:
            if choice.name != "certificate":
                continue
            der = choice.chosen.dump()
            if all(der != existing.dump() for existing, _ in pool):
                pool.append((choice.chosen, _load_certificate(der)))
        signer_infos = list(signed["signer_infos"])
        if len(signer_infos) != 1:
            raise _malformed(f"it has {len(signer_infos)} signers instead of one")
        signer_info = signer_infos[0]
        sid = signer_info["sid"]
        depot = None
        for parsed, certificate in pool:
            if sid.name == "issuer_and_serial_number":
                wanted = sid.chosen
                if (
                    parsed.serial_number == wanted["serial_number"].native
                    and parsed.issuer == wanted["issuer"]
                ):
                    depot = certificate
            elif parsed.key_identifier == sid.chosen.native:
                depot = certificate
        named = [c for _, c in pool if c.subject == encryption.issuer and c != depot]
        by_key = [c for c in named if _signed_by(encryption, c.public_key())]
        candidates = by_key or named
        if not candidates:
            raise _malformed(
                "no certificate in it is named as the issuer of the encryption certificate "
                f"({describe_name(encryption.issuer)})"
            )
        authentication = candidates[0]
        chain = tuple(c for _, c in pool if c not in (authentication, depot))
    except EhcertError:
        raise
    except (
        ValueError,
        TypeError,
        KeyError,
        UnsupportedAlgorithm,
        x509.DuplicateExtension,
        x509.UnsupportedGeneralNameType,
    ) as error:
        raise _malformed(f"it is not well-formed CMS ({str(error).splitlines()[0]})") from None
    return Etk(encryption, authentication, chain, depot, signer_info, data)


# ---------------------------------------------------------------------------- verifying


class EtkTrust(StrEnum):
    TRUSTED = "trusted"
    UNKNOWN = "unknown"  # everything checks out, but no configured anchor is reached
    UNTRUSTED = "untrusted"


@dataclass(frozen=True, slots=True)
class EtkIssue:
    code: str
    detail: str


@dataclass(frozen=True)
class EtkVerdict:
    valid: bool
    trust: EtkTrust
    validity_issues: tuple[EtkIssue, ...]
    trust_issues: tuple[EtkIssue, ...]

    @property
    def usable(self) -> bool:
        """Safe to encrypt to: valid and trusted."""
        return self.valid and self.trust is EtkTrust.TRUSTED

    @property
    def codes(self) -> set[str]:
        return {i.code for i in self.validity_issues + self.trust_issues}

    def reason(self) -> str | None:
        """The first problem as one sentence (for refusing a send), None when usable."""
        issues = self.validity_issues + self.trust_issues
        if issues:
            return issues[0].detail
        if self.trust is EtkTrust.UNKNOWN:
            return "The ETK's authentication certificate does not chain to a trusted anchor."
        return None


def _verify_depot_signature(etk: Etk, allow_sha1: bool) -> str | None:
    """None when the depot's signature verifies, else why not: the product's one CMS
    signature check (:mod:`ehcert.pki.cms_signature`), a malformed SignerInfo included."""
    if etk.depot_certificate is None:
        return "the depot's signing certificate is not in the ETK"
    try:
        check = verify_signer_info(
            etk.signer_info,
            OID_DATA,
            _der(etk.encryption_certificate),
            etk.depot_certificate,
            "depot's signature",
            allow_sha1=allow_sha1,
            field_name="etk",
        )
    except EhcertError as malformed:
        return malformed.detail[0].lower() + malformed.detail[1:].rstrip(".")
    if check.issues:
        return "; ".join(sentence for _, sentence in check.issues)
    return None


def _key_usage(certificate: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _key_issue(certificate: x509.Certificate, prefix: str, label: str) -> EtkIssue | None:
    problem = public_key_problem(certificate.public_key(), f"key of the {label}")
    return None if problem is None else EtkIssue(f"{prefix}_{problem.code}", problem.detail)


def _time_issue(
    certificate: x509.Certificate, prefix: str, label: str, at: dt.datetime
) -> EtkIssue | None:
    if at < certificate.not_valid_before_utc:
        return EtkIssue(
            f"{prefix}_not_yet_valid",
            f"The {label} is not valid before {certificate.not_valid_before_utc.date()}.",
        )
    if at > certificate.not_valid_after_utc:
        return EtkIssue(
            f"{prefix}_expired", f"The {label} expired on {certificate.not_valid_after_utc.date()}."
        )
    return None


def _reaches_anchor_by_name(etk: Etk, anchors: Sequence[x509.Certificate]) -> bool:
    """Whether walking issuer names from the authentication certificate through the ETK's
    certificates meets an anchor's subject: tells "no anchor configured" (UNKNOWN) apart
    from "a path exists but is broken" (UNTRUSTED)."""
    subjects = {a.subject for a in anchors}
    current, seen = etk.authentication_certificate, set()
    while True:
        if current.issuer in subjects or current.subject in subjects:
            return True
        seen.add(_der(current))
        parent = next(
            (c for c in etk.chain if c.subject == current.issuer and _der(c) not in seen), None
        )
        if parent is None:
            return False
        current = parent


def verify_etk(
    etk: Etk,
    *,
    anchors: Sequence[x509.Certificate],
    at: dt.datetime,
    revocation: RevocationChecker | None = None,
    allow_sha1_signatures: bool = False,
) -> EtkVerdict:
    """Check ``etk`` at the moment ``at`` (see the module docstring for every check).

    ``allow_sha1_signatures`` accepts SHA-1 in certificate and depot signatures (old
    material only; the interop fixtures need it).
    """
    if not isinstance(etk, Etk):
        raise TypeError("etk must be an Etk")
    if not isinstance(at, dt.datetime) or at.tzinfo is None:
        raise ValueError("at must be a timezone-aware datetime")
    at = at.astimezone(dt.UTC)
    encryption, authentication = etk.encryption_certificate, etk.authentication_certificate
    enc_label = f"encryption certificate of {describe_name(encryption.subject)}"
    auth_label = f"authentication certificate of {describe_name(authentication.subject)}"
    validity: list[EtkIssue] = []
    trust: list[EtkIssue] = []

    signature_problem = _verify_depot_signature(etk, allow_sha1_signatures)
    if signature_problem is not None:
        validity.append(
            EtkIssue("etk_signature", f"The ETK is not authentic: {signature_problem}.")
        )
    for issue in (
        _time_issue(encryption, "encryption", enc_label, at),
        _key_issue(encryption, "encryption", enc_label),
    ):
        if issue is not None:
            validity.append(issue)
    if not allows_encryption(encryption.public_key(), _key_usage(encryption)):
        validity.append(
            EtkIssue(
                "encryption_key_usage",
                f"The key usage of the {enc_label} does not allow "
                f"{encryption_usage_name(encryption.public_key())}.",
            )
        )

    if not _signed_by(encryption, authentication.public_key()):
        trust.append(
            EtkIssue(
                "encryption_not_signed_by_authentication",
                f"The {enc_label} is not signed by the authentication key of its holder.",
            )
        )
    if encryption.subject != authentication.subject:
        same_attributes = sorted(a.rfc4514_string() for a in encryption.subject) == sorted(
            a.rfc4514_string() for a in authentication.subject
        )
        detail = "the same attributes in another order" if same_attributes else "a different name"
        trust.append(
            EtkIssue(
                "subject_mismatch",
                f"The {enc_label} names {detail} than the {auth_label}, so that "
                "certificate is not valid for this usage.",
            )
        )
        if not same_attributes:
            trust.append(
                EtkIssue(
                    "authentication_basic_constraints",
                    f"The {auth_label} vouches for another subject but is no CA "
                    "(invalid basic constraints).",
                )
            )
    for issue in (
        _time_issue(authentication, "authentication", auth_label, at),
        _key_issue(authentication, "authentication", auth_label),
    ):
        if issue is not None:
            trust.append(issue)
    auth_usage = _key_usage(authentication)
    if auth_usage is None or not (auth_usage.digital_signature and auth_usage.content_commitment):
        trust.append(
            EtkIssue(
                "authentication_key_usage",
                f"The key usage of the {auth_label} lacks digitalSignature or nonRepudiation.",
            )
        )

    moment = min(max(at, authentication.not_valid_before_utc), authentication.not_valid_after_utc)
    check_path = functools.partial(
        validate_path,
        authentication,
        etk.chain,
        anchors,
        at=moment,
        purpose=None,
        leaf_label="authentication certificate",
        allow_sha1_signatures=allow_sha1_signatures,
    )
    unknown = False
    try:
        check_path(revocation=None)
    except EhcertError as failure:
        if _reaches_anchor_by_name(etk, anchors):
            trust.append(EtkIssue("authentication_chain", failure.detail))
        else:
            unknown = True
    else:
        if revocation is not None:
            try:
                check_path(revocation=revocation)
            except EhcertError as failure:
                code = (
                    "authentication_revoked"
                    if failure.kind is ErrorKind.REVOKED
                    else "authentication_revocation_unknown"
                )
                trust.append(EtkIssue(code, failure.detail))
    level = EtkTrust.UNTRUSTED if trust else (EtkTrust.UNKNOWN if unknown else EtkTrust.TRUSTED)
    return EtkVerdict(not validity, level, tuple(validity), tuple(trust))

"""Certificate path validation in the spirit of RFC 5280 section 6, small and explicit.

Used wherever a certificate must be trusted: an eID signature over a server nonce, a
request signed with a current eHealth certificate, the sender of a sealed message.
For a path ``leaf, intermediate..., anchor`` it checks:

1. Building: issuers come from ``intermediates`` and ``anchors`` by subject == issuer
   name and, when both carry them, AKI keyIdentifier == SKI (RFC 5280 4.2.1.1). Every
   candidate path (bounded) is tried; the first that validates wins, otherwise the first
   one's failure is reported.
2. The anchor is one of ``anchors`` by exact DER or by same subject and public key (an
   intermediate that matches one ends the path there). Beyond RFC 5280's name+key
   anchor, it must be time-valid and a CA whose pathLenConstraint admits the path
   (anchor constraints as in RFC 5937 section 2).
3. Signatures: RSASSA-PKCS1-v1_5, RSASSA-PSS or ECDSA over SHA-256/384/512 (SHA-1 only
   with ``allow_sha1_signatures``, for old interop material); inner and outer signature
   algorithms equal (RFC 5280 4.1.1.2).
4. Every certificate, the anchor included, is time-valid at ``at`` (6.1.3 (a)(2)).
5. Every issuer has basicConstraints cA=TRUE, keyUsage (when present) keyCertSign, and
   pathLenConstraints hold, counting non-self-issued intermediates (6.1.4 (k)-(n)).
6. No unprocessed critical extension (6.1.4 (o)). Certificate policies and name
   constraints are NOT processed, so a critical one makes the certificate untrusted.
7. Optionally, the leaf fits a :class:`KeyPurpose`.
8. Optionally, ``revocation(cert, issuer)`` for each non-anchor certificate, top down,
   after everything else passed; when the issuer's certificate gives no answer, another
   certificate of the same CA may have signed its CRLs (RFC 5280 6.3.3 (f)). UNKNOWN
   fails closed (a soft-fail caller returns GOOD).
   The status types and the CRL-backed checker live in :mod:`ehcert.pki.revocation`
   and are re-exported here.

Step 1 lives in :mod:`ehcert.pki.path_building`; its bounds are re-exported here too.

Refusals are ``EhcertError`` UNTRUSTED, CERTIFICATE_EXPIRED or REVOKED with one sentence
naming the certificate and the problem.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.path_building import (
    Candidate,
    build_candidates,
    certificate_der,
)
from ehcert.pki.revocation import (
    CERTIFICATE_PARSE_ERRORS,
    RevocationChecker,
    RevocationState,
    RevocationStatus,
    certificate_extension,
    check_path_revocation,
    describe_name,
    names_match,
)

__all__ = [
    "KeyPurpose",
    "ValidatedPath",
    "validate_path",
]

_STRONG_HASHES: tuple[type[hashes.HashAlgorithm], ...] = (
    hashes.SHA256,
    hashes.SHA384,
    hashes.SHA512,
)

_PROCESSED_CRITICAL_EXTENSIONS = frozenset(
    {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.CRL_DISTRIBUTION_POINTS,
        ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
        ExtensionOID.OCSP_NO_CHECK,
    }
)


@dataclass(frozen=True, slots=True)
class _PurposeRule:
    key_usages: frozenset[str]  # KeyUsage attribute names that must be asserted
    extended_key_usage: x509.ObjectIdentifier | None
    extended_key_usage_required: bool  # False: an absent EKU means "any purpose"
    description: str


class KeyPurpose(Enum):
    """What the leaf's key is about to be trusted for.

    keyUsage must be present and assert the listed bits (eHealth and eID certificates
    always carry it, so its absence is treated as a defect rather than RFC 5280's "any
    usage"). extendedKeyUsage, when present, must contain the purpose or
    anyExtendedKeyUsage (RFC 5280 section 4.2.1.12); only OCSP signing requires it to be
    present (RFC 6960 section 4.2.2.2).
    """

    CLIENT_AUTHENTICATION = _PurposeRule(
        frozenset({"digital_signature"}),
        ExtendedKeyUsageOID.CLIENT_AUTH,
        False,
        "client authentication",
    )
    MESSAGE_SIGNATURE = _PurposeRule(
        frozenset({"digital_signature"}),
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        False,
        "signing messages",
    )
    NON_REPUDIATION = _PurposeRule(
        frozenset({"content_commitment"}),
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        False,
        "non-repudiable signatures",
    )
    KEY_ENCIPHERMENT = _PurposeRule(
        frozenset({"key_encipherment"}),
        None,
        False,
        "encryption (key transport)",
    )
    OCSP_SIGNING = _PurposeRule(
        frozenset({"digital_signature"}),
        ExtendedKeyUsageOID.OCSP_SIGNING,
        True,
        "signing OCSP responses",
    )


@dataclass(frozen=True, slots=True)
class ValidatedPath:
    """A path that passed every check: ``certificates`` runs leaf first, anchor last."""

    certificates: tuple[x509.Certificate, ...]
    validated_at: dt.datetime
    revocation: tuple[RevocationStatus, ...]  # one per non-anchor certificate, or empty

    @property
    def leaf(self) -> x509.Certificate:
        return self.certificates[0]

    @property
    def anchor(self) -> x509.Certificate:
        return self.certificates[-1]


def _untrusted(detail: str) -> EhcertError:
    return EhcertError(ErrorKind.UNTRUSTED, detail)


def _label(index: int, leaf_label: str) -> str:
    return leaf_label if index == 0 else "CA certificate"


def _check_signature(
    cert: x509.Certificate, issuer: x509.Certificate, what: str, *, allow_sha1: bool
) -> None:
    """Verify ``cert``'s signature with ``issuer``'s key (RFC 5280 section 6.1.3 (a)(1))."""
    subject = describe_name(cert.subject)
    try:
        parsed = asn1_x509.Certificate.load(certificate_der(cert))
        inner = parsed["tbs_certificate"]["signature"].dump()
        agree = inner == parsed["signature_algorithm"].dump()
    except (ValueError, TypeError, KeyError):
        agree = False
    if not agree:
        raise _untrusted(
            f"The {what} of {subject} names different (or unreadable) signature algorithms "
            "inside and outside the signed part."
        )
    try:
        hash_algorithm = cert.signature_hash_algorithm
        parameters = cert.signature_algorithm_parameters
    except CERTIFICATE_PARSE_ERRORS:
        hash_algorithm, parameters = None, None
    accepted = _STRONG_HASHES + ((hashes.SHA1,) if allow_sha1 else ())
    if hash_algorithm is None or not isinstance(hash_algorithm, accepted):
        name = hash_algorithm.name.upper() if hash_algorithm is not None else "an unknown hash"
        raise _untrusted(f"The {what} of {subject} is signed with {name}, which is not accepted.")
    try:
        key = issuer.public_key()
        if isinstance(key, rsa.RSAPublicKey) and isinstance(
            parameters, padding.PKCS1v15 | padding.PSS
        ):
            key.verify(cert.signature, cert.tbs_certificate_bytes, parameters, hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(parameters, ec.ECDSA):
            key.verify(cert.signature, cert.tbs_certificate_bytes, parameters)
        else:
            raise _untrusted(
                f"The {what} of {subject} is signed with an algorithm that does not match "
                f"the key of its issuer {describe_name(issuer.subject)}."
            )
    except (InvalidSignature, *CERTIFICATE_PARSE_ERRORS):
        raise _untrusted(
            f"The signature on the {what} of {subject} does not verify with the key of its "
            f"issuer {describe_name(issuer.subject)}."
        ) from None


@functools.lru_cache(maxsize=256)
def _checked_ca_signature(
    cert: x509.Certificate, issuer: x509.Certificate, what: str, allow_sha1: bool
) -> None:
    """:func:`_check_signature` of a CA certificate, remembered when it passed.

    Every request signed with an eID validates the same few CA certificates (the citizen
    CA under its root); whether a certificate's signature verifies under its issuer's key
    depends on nothing but the two certificates (both part of the key, compared by DER),
    so a success is remembered. A failure raises and is not. Validity periods, purposes
    and revocation are checked on every validation, never remembered. Leaves are checked
    every time: each signer has their own.
    """
    _check_signature(cert, issuer, what, allow_sha1=allow_sha1)


def _check_time(cert: x509.Certificate, what: str, at: dt.datetime) -> None:
    subject = describe_name(cert.subject)
    if at < cert.not_valid_before_utc:
        raise _untrusted(
            f"The {what} of {subject} is not valid before {cert.not_valid_before_utc.isoformat()}."
        )
    if at > cert.not_valid_after_utc:
        raise EhcertError(
            ErrorKind.CERTIFICATE_EXPIRED,
            f"The {what} of {subject} expired on {cert.not_valid_after_utc.date().isoformat()}.",
        )


def _check_critical_extensions(cert: x509.Certificate, what: str) -> None:
    subject = describe_name(cert.subject)
    try:
        extensions = list(cert.extensions)
    except CERTIFICATE_PARSE_ERRORS as exc:
        raise _untrusted(f"The {what} of {subject} has malformed extensions ({exc}).") from None
    for extension in extensions:
        if extension.critical and extension.oid not in _PROCESSED_CRITICAL_EXTENSIONS:
            raise _untrusted(
                f"The {what} of {subject} has the critical extension "
                f"{extension.oid.dotted_string}, which this validator does not process."
            )


def _check_is_ca(cert: x509.Certificate, what: str) -> int | None:
    """RFC 5280 section 6.1.4 (k) and (n) for a certificate that issued the next one.

    Returns its pathLenConstraint (None: unlimited).
    """
    subject = describe_name(cert.subject)
    constraints = certificate_extension(cert, x509.BasicConstraints)
    if constraints is None or not constraints.ca:
        raise _untrusted(
            f"The {what} of {subject} issued another certificate but is not a CA "
            "(basicConstraints cA is not TRUE)."
        )
    usage = certificate_extension(cert, x509.KeyUsage)
    if usage is not None and not usage.key_cert_sign:
        raise _untrusted(
            f"The {what} of {subject} issued another certificate but its key usage does not "
            "allow certificate signing."
        )
    return constraints.path_length


def _check_purpose(leaf: x509.Certificate, what: str, purpose: KeyPurpose) -> None:
    rule = purpose.value
    subject = describe_name(leaf.subject)
    usage = certificate_extension(leaf, x509.KeyUsage)
    if usage is None or not all(getattr(usage, bit) for bit in rule.key_usages):
        raise _untrusted(
            f"The key usage of the {what} of {subject} does not allow {rule.description}."
        )
    if rule.extended_key_usage is None:
        return
    extended = certificate_extension(leaf, x509.ExtendedKeyUsage)
    if extended is None:
        if rule.extended_key_usage_required:
            raise _untrusted(
                f"The {what} of {subject} has no extended key usage for {rule.description}."
            )
        return
    allowed = {rule.extended_key_usage, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
    if allowed.isdisjoint(extended):
        raise _untrusted(
            f"The extended key usage of the {what} of {subject} does not allow {rule.description}."
        )


def _is_self_issued(cert: x509.Certificate) -> bool:
    return names_match(cert.subject, cert.issuer)


def _validate_candidate(
    candidate: Candidate,
    at: dt.datetime,
    purpose: KeyPurpose | None,
    leaf_label: str,
    allow_sha1: bool,
) -> None:
    """Every check except revocation, from the anchor down to the leaf (RFC 5280 6.1.3-4).

    ``budget`` is RFC 5280's max_path_length: how many more non-self-issued intermediate
    CA certificates may follow; ``limiter`` names the certificate that set it.
    """
    path, anchor = candidate.path, candidate.anchor
    anchor_what = "trust anchor certificate"
    _check_time(anchor, anchor_what, at)
    _check_critical_extensions(anchor, anchor_what)
    budget = _check_is_ca(anchor, anchor_what)
    limiter = (anchor, anchor_what, budget)
    chain = (*path, anchor)
    for index in range(len(path) - 1, -1, -1):
        cert, what = chain[index], _label(index, leaf_label)
        if index == 0:
            _check_signature(cert, chain[index + 1], what, allow_sha1=allow_sha1)
        else:
            _checked_ca_signature(cert, chain[index + 1], what, allow_sha1)
        _check_critical_extensions(cert, what)
        _check_time(cert, what, at)
        if index == 0:
            break
        own_limit = _check_is_ca(cert, what)
        if not _is_self_issued(cert):
            if budget is not None and budget <= 0:
                limit_cert, limit_what, limit = limiter
                raise _untrusted(
                    f"The {limit_what} of {describe_name(limit_cert.subject)} allows at most "
                    f"{limit} intermediate CA certificates below it, but the path has more."
                )
            budget = None if budget is None else budget - 1
        if own_limit is not None and (budget is None or own_limit <= budget):
            budget, limiter = own_limit, (cert, what, own_limit)
    if purpose is not None:
        _check_purpose(path[0], leaf_label, purpose)


def _crl_signers(
    chain: tuple[x509.Certificate, ...],
    pool: tuple[x509.Certificate, ...],
    at: dt.datetime,
    revocation: RevocationChecker,
    allow_sha1: bool,
) -> Callable[[int], list[x509.Certificate]]:
    """Who else may sign CRLs for the issuer of ``chain[index]`` (RFC 5280 6.3.3 (f)).

    A certificate of the same CA name higher up the validated path (a key rollover with
    self-issued certificates, PKITS 4.5), or a supplied certificate of that name issued
    by a certificate of the path above, time-valid, with no unprocessed critical
    extension and not revoked itself (a separate CRL signing key, PKITS 4.4.19-21).
    Whether it may sign CRLs at all (keyUsage cRLSign) the CRL checker decides.
    """

    def signers(index: int) -> list[x509.Certificate]:
        issuer_name = chain[index].issuer
        above = chain[index + 1 :]
        found = [c for c in above[1:] if names_match(c.subject, issuer_name)]
        for candidate in pool:
            if candidate in chain or not names_match(candidate.subject, issuer_name):
                continue
            for parent in above:
                if not names_match(parent.subject, candidate.issuer):
                    continue
                what = "CRL signer certificate"
                try:
                    _check_signature(candidate, parent, what, allow_sha1=allow_sha1)
                    _check_critical_extensions(candidate, what)
                    _check_time(candidate, what, at)
                except EhcertError:
                    continue
                if revocation(candidate, parent).state is RevocationState.GOOD:
                    found.append(candidate)
                    break
        return found

    return signers


def _require_certificates(field: str, values: Iterable[object]) -> tuple[x509.Certificate, ...]:
    certificates = tuple(values)
    if not all(isinstance(c, x509.Certificate) for c in certificates):
        raise TypeError(f"{field} must contain only x509.Certificate objects")
    return certificates  # type: ignore[return-value]  # checked just above


def _unreadable_part(cert: x509.Certificate) -> str | None:
    """What of ``cert`` cannot be parsed (cryptography parses names, extensions and keys
    lazily, so a malformed certificate would otherwise fail midway through validation)."""
    try:
        _ = cert.subject, cert.issuer, cert.not_valid_before_utc, cert.not_valid_after_utc
    except CERTIFICATE_PARSE_ERRORS:
        return "its names or validity period are malformed"
    try:
        list(cert.extensions)
    except CERTIFICATE_PARSE_ERRORS:
        return "its extensions are malformed"
    try:
        cert.public_key()
    except CERTIFICATE_PARSE_ERRORS:
        return "its public key is malformed or of an unknown type"
    return None


def validate_path(
    leaf: x509.Certificate,
    intermediates: Iterable[x509.Certificate],
    anchors: Iterable[x509.Certificate],
    *,
    at: dt.datetime,
    purpose: KeyPurpose | None,
    revocation: RevocationChecker | None,
    leaf_label: str = "certificate",
    allow_sha1_signatures: bool = False,
) -> ValidatedPath:
    """Validate ``leaf`` up to one of ``anchors`` at the moment ``at`` (see module doc).

    ``purpose`` and ``revocation`` have no defaults on purpose: every caller states
    whether it checks them. ``leaf_label`` names the leaf in messages ("eID certificate"
    gives "The eID certificate of CN=... expired on 2025-03-01.").
    """
    if not isinstance(leaf, x509.Certificate):
        raise TypeError("leaf must be an x509.Certificate")
    intermediate_list = _require_certificates("intermediates", intermediates)
    anchor_list = _require_certificates("anchors", anchors)
    if not isinstance(at, dt.datetime):
        raise TypeError("at must be a datetime")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be timezone-aware")
    if purpose is not None and not isinstance(purpose, KeyPurpose):
        raise TypeError("purpose must be a KeyPurpose or None")
    at = at.astimezone(dt.UTC)
    unreadable = _unreadable_part(leaf)
    if unreadable is not None:
        raise _untrusted(f"The {leaf_label} cannot be read: {unreadable}.")
    if any(_unreadable_part(anchor) is not None for anchor in anchor_list):
        raise ValueError("anchors contain a certificate that cannot be parsed")
    # A malformed intermediate can never be part of a valid path: leave it out.
    intermediate_list = tuple(c for c in intermediate_list if _unreadable_part(c) is None)

    candidates, dead_end = build_candidates(leaf, intermediate_list, anchor_list)
    if not candidates:
        top = dead_end[-1]
        where = "its issuer"
        if len(dead_end) > 1:
            where = f"the path ends at the CA certificate of {describe_name(top.subject)}, whose"
            where += " issuer"
        raise _untrusted(
            f"The {leaf_label} of {describe_name(leaf.subject)} does not chain to a trusted "
            f"anchor: {where} {describe_name(top.issuer)} is neither a trusted anchor (by name "
            "and key identifier) nor among the supplied intermediate certificates."
        )
    first_failure: EhcertError | None = None
    for candidate in candidates:
        try:
            _validate_candidate(candidate, at, purpose, leaf_label, allow_sha1_signatures)
        except EhcertError as failure:
            first_failure = first_failure or failure
            continue
        chain = (*candidate.path, candidate.anchor)
        statuses = (
            check_path_revocation(
                chain,
                revocation,
                leaf_label,
                _crl_signers(chain, intermediate_list, at, revocation, allow_sha1_signatures),
            )
            if revocation is not None
            else ()
        )
        return ValidatedPath(chain, at, statuses)
    assert first_failure is not None
    raise first_failure

"""Revocation status for path validation: the answer type, and a checker backed by CRLs.

:func:`ehcert.pki.pathval.validate_path` asks a :data:`RevocationChecker` about every
non-anchor certificate of a path that passed all other checks. A checker returns one of
RFC 6960's three answers as a :class:`RevocationStatus`; how it finds the answer (CRLs
here, OCSP or the CA's own database elsewhere) is its business.

:func:`check_path_revocation` is how a path's certificates are put to a checker.
:func:`crl_revocation_checker` answers from CRLs as RFC 5280 section 6.3 describes, for
complete CRLs signed directly by the certificate's issuer: no indirect or delta CRLs.

The small certificate-reading helpers (:data:`CERTIFICATE_PARSE_ERRORS`,
:func:`certificate_extension`, :func:`describe_name`) live here because both this module
and :mod:`ehcert.pki.pathval` need them and path validation depends on this module, not
the other way round.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from ehcert.core.errors import EhcertError, ErrorKind

CERTIFICATE_PARSE_ERRORS = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)
"""What cryptography raises when a lazily parsed part of a certificate or CRL is malformed."""

_ExtensionT = TypeVar("_ExtensionT", bound=x509.ExtensionType)

_NAME_LABELS = {
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.SURNAME: "SN",
    NameOID.GIVEN_NAME: "GN",
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
}


def describe_name(name: x509.Name) -> str:
    """An RFC 4514 rendering with readable labels for serialNumber, SN and GN."""
    rendered = name.rfc4514_string(_NAME_LABELS)
    return rendered or "(empty name)"


@functools.lru_cache(maxsize=256)
def describe_subject(certificate: x509.Certificate) -> str:
    """:func:`describe_name` of ``certificate``'s subject, kept per certificate (by its
    DER): a sealed message's report names the same few certificates in every message,
    and rendering a name (RFC 4514) cost a twentieth of a 1 KB seal+unseal."""
    return describe_name(certificate.subject)


def _comparable(name: x509.Name) -> tuple[frozenset[tuple[str, str]], ...] | None:
    try:
        return tuple(
            frozenset(
                (attribute.oid.dotted_string, " ".join(str(attribute.value).casefold().split()))
                for attribute in rdn
            )
            for rdn in name.rdns
        )
    except CERTIFICATE_PARSE_ERRORS:
        return None


def names_match(first: x509.Name, second: x509.Name) -> bool:
    """Name chaining as RFC 5280 section 7.1 compares names (RFC 4518 string preparation,
    simplified): the same RDNs in the same order, each attribute value compared without
    case and with leading, trailing and repeated inner white space ignored (PKITS
    4.3.3-4.3.6 and 4.3.11). A CA that re-encodes its name in another string type or
    case still chains; the signatures decide the rest."""
    if first == second:
        return True
    one, other = _comparable(first), _comparable(second)
    return one is not None and one == other


def certificate_extension(cert: x509.Certificate, kind: type[_ExtensionT]) -> _ExtensionT | None:
    """The extension of type ``kind``, or None when ``cert`` has none."""
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


class RevocationState(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class RevocationStatus:
    """What a revocation source says about one certificate (RFC 6960's three answers)."""

    state: RevocationState
    reason: x509.ReasonFlags | None = None
    revoked_at: dt.datetime | None = None
    detail: str | None = None  # for UNKNOWN: why the status could not be determined

    def __post_init__(self) -> None:
        if not isinstance(self.state, RevocationState):
            raise TypeError("state must be a RevocationState")
        if self.state is RevocationState.REVOKED:
            if not isinstance(self.revoked_at, dt.datetime):
                raise TypeError("a REVOKED status needs revoked_at")
            if self.revoked_at.tzinfo is None:
                raise ValueError("revoked_at must be timezone-aware")
        elif self.reason is not None or self.revoked_at is not None:
            raise ValueError("only a REVOKED status has a reason and a revocation time")

    @classmethod
    def good(cls) -> RevocationStatus:
        return cls(RevocationState.GOOD)

    @classmethod
    def revoked(cls, reason: x509.ReasonFlags | None, revoked_at: dt.datetime) -> RevocationStatus:
        return cls(RevocationState.REVOKED, reason=reason, revoked_at=revoked_at)

    @classmethod
    def unknown(cls, detail: str) -> RevocationStatus:
        return cls(RevocationState.UNKNOWN, detail=detail)


RevocationChecker = Callable[[x509.Certificate, x509.Certificate], RevocationStatus]
"""``checker(certificate, issuer)`` -> the certificate's status according to one source."""


def check_path_revocation(
    chain: Sequence[x509.Certificate],
    checker: RevocationChecker,
    leaf_label: str,
    crl_signers: Callable[[int], Sequence[x509.Certificate]] | None = None,
) -> tuple[RevocationStatus, ...]:
    """Ask ``checker`` about each certificate of ``chain`` but the anchor, top down.

    ``chain`` runs leaf first, anchor last (step 8 of
    :func:`ehcert.pki.pathval.validate_path`). REVOKED refuses the path with
    ``EhcertError`` REVOKED; UNKNOWN fails closed with UNTRUSTED (a caller that wants
    soft-fail gives a checker that answers GOOD instead). Returns the statuses leaf first.

    ``crl_signers(index)``: other certificates that may sign the revocation information
    of ``chain[index]`` for its issuer when the issuer's own certificate gives no answer
    (RFC 5280 section 6.3.3 (f): a CA that signs CRLs with another key, or rolled its
    key over with self-issued certificates). The caller vouches for them.
    """
    statuses: list[RevocationStatus] = []
    for index in range(len(chain) - 2, -1, -1):
        cert = chain[index]
        status = checker(cert, chain[index + 1])
        if status.state is RevocationState.UNKNOWN and crl_signers is not None:
            for signer in crl_signers(index):
                answer = checker(cert, signer)
                if answer.state is not RevocationState.UNKNOWN:
                    status = answer
                    break
        if not isinstance(status, RevocationStatus):
            raise TypeError("the revocation checker must return a RevocationStatus")
        what = leaf_label if index == 0 else "CA certificate"
        subject = describe_name(cert.subject)
        if status.state is RevocationState.REVOKED:
            assert status.revoked_at is not None  # guaranteed by RevocationStatus
            reason = f" ({status.reason.value})" if status.reason is not None else ""
            raise EhcertError(
                ErrorKind.REVOKED,
                f"The {what} of {subject} was revoked on "
                f"{status.revoked_at.date().isoformat()}{reason}.",
            )
        if status.state is RevocationState.UNKNOWN:
            raise EhcertError(
                ErrorKind.UNTRUSTED,
                f"The revocation status of the {what} of {subject} cannot be determined: "
                f"{status.detail or 'no answer'}.",
            )
        statuses.append(status)
    return tuple(reversed(statuses))


_PROCESSED_CRL_EXTENSIONS = frozenset(
    {ExtensionOID.ISSUING_DISTRIBUTION_POINT, ExtensionOID.DELTA_CRL_INDICATOR}
)


def _crl_applies(
    crl: x509.CertificateRevocationList,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    at: dt.datetime | None,
) -> bool:
    """Whether ``crl`` is a complete, authentic, current CRL of ``issuer`` covering ``cert``.

    RFC 5280 section 6.3.3: issued and signed by the certificate's issuer (no indirect
    CRLs), which may sign CRLs (keyUsage cRLSign when present); no unprocessed critical
    extension (section 5.2); not a delta CRL; an issuingDistributionPoint, if any, covers
    all reasons, this kind of certificate, and one of the certificate's own distribution
    point URIs (so a partition CRL never vouches for a certificate outside it); current
    at ``at`` when given (thisUpdate <= at <= nextUpdate).
    """
    try:
        key = issuer.public_key()
        usage = certificate_extension(issuer, x509.KeyUsage)
        if (
            not names_match(crl.issuer, issuer.subject)
            or (usage is not None and not usage.crl_sign)
            or not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
            or not crl.is_signature_valid(key)
        ):
            return False
        extensions = list(crl.extensions)
        constraints = certificate_extension(cert, x509.BasicConstraints)
        points = certificate_extension(cert, x509.CRLDistributionPoints)
    except CERTIFICATE_PARSE_ERRORS:
        return False
    if any(e.critical and e.oid not in _PROCESSED_CRL_EXTENSIONS for e in extensions) or any(
        isinstance(e.value, x509.DeltaCRLIndicator) for e in extensions
    ):
        return False
    scope = next(
        (e.value for e in extensions if isinstance(e.value, x509.IssuingDistributionPoint)), None
    )
    if scope is not None:
        is_ca = constraints is not None and constraints.ca
        cert_names = {n for p in points or () for n in p.full_name or ()}
        if (
            scope.indirect_crl
            or scope.only_some_reasons
            or scope.only_contains_attribute_certs
            or (scope.only_contains_user_certs and is_ca)
            or (scope.only_contains_ca_certs and not is_ca)
            or scope.relative_name is not None
            or (scope.full_name is not None and cert_names.isdisjoint(scope.full_name))
        ):
            return False
    if at is not None:
        next_update = crl.next_update_utc
        if at < crl.last_update_utc or next_update is None or at > next_update:
            return False
    return True


def _revoked_entry(
    crl: x509.CertificateRevocationList, serial: int
) -> x509.RevokedCertificate | None:
    """The CRL entry of ``serial``. cryptography's lookup refuses negative serials, which
    RFC 5280 section 4.1.2.2 tells relying parties to handle gracefully (PKITS 4.4.14-15):
    those are looked for entry by entry."""
    if serial >= 0:
        return crl.get_revoked_certificate_by_serial_number(serial)
    return next((entry for entry in crl if entry.serial_number == serial), None)


def crl_revocation_checker(
    crls: Iterable[x509.CertificateRevocationList], *, at: dt.datetime | None = None
) -> RevocationChecker:
    """A revocation checker answering from the given CRLs.

    A certificate listed on an applicable CRL of its issuer is REVOKED (with the entry's
    reason code and date, RFC 5280 section 5.3.1); not listed on one is GOOD; no
    applicable CRL (none from that issuer, bad signature, stale) gives UNKNOWN. Pass
    ``at`` (normally the same moment as ``validate_path``) to refuse CRLs that are not
    current then; without it, freshness is the caller's business.
    """
    crl_list = tuple(crls)
    if not all(isinstance(c, x509.CertificateRevocationList) for c in crl_list):
        raise TypeError("crls must contain only x509.CertificateRevocationList objects")
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise ValueError("at must be timezone-aware")

    def check(cert: x509.Certificate, issuer: x509.Certificate) -> RevocationStatus:
        applicable = [crl for crl in crl_list if _crl_applies(crl, cert, issuer, at)]
        if not applicable:
            return RevocationStatus.unknown(
                f"no current CRL signed by {describe_name(issuer.subject)} is available"
            )
        for crl in applicable:
            entry = _revoked_entry(crl, cert.serial_number)
            if entry is None:
                continue
            try:
                reason: x509.ReasonFlags | None = entry.extensions.get_extension_for_class(
                    x509.CRLReason
                ).value.reason
            except (x509.ExtensionNotFound, *CERTIFICATE_PARSE_ERRORS):
                reason = None
            return RevocationStatus.revoked(reason, entry.revocation_date_utc)
        return RevocationStatus.good()

    return check

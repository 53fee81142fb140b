"""Revocation reasons, in one place: their RFC 5280 names and who may give which.

RFC 5280 section 5.3.1 defines the CRLReason values; ehcert uses their ASN.1 names
(``keyCompromise``), which are also ``cryptography``'s ``x509.ReasonFlags`` values.

- A holder may give :data:`HOLDER_REASONS`; an administrator revokes an end-entity
  certificate for the same reasons (:data:`ADMINISTRATOR_REASONS`). certificateHold is
  never used (eHealth certificates are not suspended), removeFromCRL belongs to delta
  CRLs only, cACompromise and aACompromise concern CA and attribute-authority
  certificates, which are replaced by a CA ceremony, not revoked as an entry.
- The RA, the store, the CA and the Certificate Manager all accept exactly
  :data:`REVOCATION_REASONS` (what either may give), so the store never records a
  reason the RA would refuse.
- :data:`KEY_INTACT_REASONS` say nothing against the key: a signature made before such
  a revocation still stands (ETSI EN 319 102-1 section 5.2.2).
"""

from __future__ import annotations

from ehcert.core.errors import EhcertError, ErrorKind

RFC_5280_REASON_CODES: dict[str, int] = {
    "unspecified": 0,
    "keyCompromise": 1,
    "cACompromise": 2,
    "affiliationChanged": 3,
    "superseded": 4,
    "cessationOfOperation": 5,
    "certificateHold": 6,
    "removeFromCRL": 8,
    "privilegeWithdrawn": 9,
    "aACompromise": 10,
}
"""Every CRLReason of RFC 5280 section 5.3.1 with its code (7 is not used)."""

HOLDER_REASONS: tuple[str, ...] = (
    "unspecified",
    "keyCompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "privilegeWithdrawn",
)
ADMINISTRATOR_REASONS: tuple[str, ...] = HOLDER_REASONS
REVOCATION_REASONS: tuple[str, ...] = tuple(
    dict.fromkeys((*HOLDER_REASONS, *ADMINISTRATOR_REASONS))
)
"""Every reason a certificate of this platform can be revoked for, in RFC order."""

KEY_INTACT_REASONS: frozenset[str] = frozenset(
    {"superseded", "affiliationChanged", "cessationOfOperation", "privilegeWithdrawn"}
)
"""keyCompromise, cACompromise and unspecified do not qualify: whoever holds a
compromised key can also backdate a signing time that is the signer's own claim."""


def check_revocation_reason(reason: str) -> str:
    """``reason`` when it is one of :data:`REVOCATION_REASONS` (exact RFC 5280 spelling),
    else EhcertError(MALFORMED) on the field ``reason`` listing them."""
    if not isinstance(reason, str):
        raise TypeError("reason must be a string")
    if reason not in REVOCATION_REASONS:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"The revocation reason {reason!r} is not accepted; use one of "
            f"{', '.join(REVOCATION_REASONS)}.",
            field="reason",
        )
    return reason


def canonical_revocation_reason(reason: str) -> str:
    """The RFC 5280 name for ``reason`` in any letter case (what a person types), or the
    refusal of :func:`check_revocation_reason`."""
    if not isinstance(reason, str):
        raise TypeError("reason must be a string")
    by_lower = {name.lower(): name for name in REVOCATION_REASONS}
    return check_revocation_reason(by_lower.get(reason.strip().lower(), reason))

"""One error type for the whole product, with a kind that says what went wrong.

Inside ehcert every refusal or failure is an :class:`EhcertError`; only the edges map it:
the HTTP API to an RFC 9457 problem document (``api.problems``), the CLI to exit code 1
and one sentence on stderr. This follows Boulder's ``probs`` package: the business code
says *what* happened, the edge decides *how* to say it.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum


class ErrorKind(StrEnum):
    """Stable error kinds; the value is the last segment of the problem ``type`` URI."""

    MALFORMED = "malformed"  # the input cannot be parsed or a field is invalid
    UNAUTHORIZED = "unauthorized"  # no valid proof of identity
    FORBIDDEN = "forbidden"  # identity known, but this action is not allowed
    NOT_FOUND = "not-found"
    CONFLICT = "conflict"  # the state changed underneath (duplicate, already revoked)
    BAD_NONCE = "bad-nonce"  # unknown, expired or replayed nonce (RFC 8555 section 6.5)
    BAD_CSR = "bad-csr"
    BAD_KEY = "bad-key"  # key type or size refused by policy
    NOT_IN_REGISTRY = "not-in-registry"
    WITHDRAWN = "withdrawn"
    NO_MANDATE = "no-mandate"
    ATTESTATION_MISSING = "attestation-missing"
    RENEWAL_TOO_EARLY = "renewal-too-early"
    CERTIFICATE_EXPIRED = "certificate-expired"
    REVOKED = "revoked"
    UNTRUSTED = "untrusted"  # a certificate does not chain to a configured anchor
    # a certificate or token of the other environment (acceptance against production)
    WRONG_ENVIRONMENT = "wrong-environment"
    PAYLOAD_TOO_LARGE = "payload-too-large"
    METHOD_NOT_ALLOWED = "method-not-allowed"  # the path exists, the HTTP method does not
    RATE_LIMITED = "rate-limited"  # too many requests from one client; retry later
    UNAVAILABLE = "unavailable"  # a dependency (platform, token) cannot be reached
    INTERNAL = "internal"


class EhcertError(Exception):
    """A refusal or failure with a kind, one human sentence and, when known, the field.

    ``detail`` is written for the person who sees it: it names the cause and, where one
    exists, the way out ("renewal opens on 2029-09-02"). ``retry_at`` is the moment a
    refusal that only waiting cures (a locked digital key) stops applying; the HTTP edge
    sends it as ``Retry-After`` (RFC 9110 section 10.2.3).
    """

    def __init__(
        self,
        kind: ErrorKind,
        detail: str,
        *,
        field: str | None = None,
        retry_at: dt.datetime | None = None,
    ) -> None:
        if not isinstance(kind, ErrorKind):
            raise TypeError("kind must be an ErrorKind")
        if retry_at is not None and retry_at.tzinfo is None:
            raise ValueError("retry_at must be timezone-aware")
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.field = field
        self.retry_at = retry_at
        # Set once the refusal is in the audit log (``core.audit.refusal_detail``), so the
        # edge, which audits the refusals no service saw, does not record it twice.
        self.recorded = False

    def __repr__(self) -> str:
        return f"EhcertError({self.kind.value!r}, {self.detail!r}, field={self.field!r})"

"""Errors at the HTTP edge: RFC 9457 problem documents with a stable type.

Business code raises :class:`EhcertError` with a kind; only here does a kind become an
HTTP status (Boulder's ``probs``). The ``type`` URI ends in the kind, so clients switch
on it; ``detail`` is the human sentence.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ehcert.core.errors import EhcertError, ErrorKind

PROBLEM_TYPE_PREFIX = "urn:ehcert:problem:"
PROBLEM_MEDIA_TYPE = "application/problem+json"

STATUS_BY_KIND: dict[ErrorKind, int] = {
    ErrorKind.MALFORMED: 400,
    ErrorKind.BAD_CSR: 400,
    ErrorKind.BAD_KEY: 400,
    ErrorKind.BAD_NONCE: 400,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.UNTRUSTED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_IN_REGISTRY: 403,
    ErrorKind.WITHDRAWN: 403,
    ErrorKind.NO_MANDATE: 403,
    ErrorKind.ATTESTATION_MISSING: 403,
    ErrorKind.RENEWAL_TOO_EARLY: 403,
    ErrorKind.CERTIFICATE_EXPIRED: 403,
    ErrorKind.REVOKED: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.PAYLOAD_TOO_LARGE: 413,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.INTERNAL: 500,
}


def problem_response(
    kind: ErrorKind,
    detail: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    status = STATUS_BY_KIND.get(kind, 500)
    body = {
        "type": PROBLEM_TYPE_PREFIX + kind.value,
        "title": kind.value.replace("-", " ").capitalize(),
        "status": status,
        "detail": detail,
        "field": field,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


async def ehcert_error_handler(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, EhcertError)
    headers = None
    if error.kind is ErrorKind.BAD_NONCE:
        # RFC 8555 section 6.5: a badNonce answer carries a fresh nonce for the retry.
        headers = {"Replay-Nonce": request.app.state.new_nonce()}
    return problem_response(error.kind, error.detail, field=error.field, headers=headers)


async def validation_error_handler(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0] if error.errors() else {}
    location = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = first.get("msg", "invalid request")
    return problem_response(
        ErrorKind.MALFORMED, f"Field {location or 'body'} is invalid: {message}.", field=location
    )

"""Errors at the HTTP edge: RFC 9457 problem documents with a stable type, for every error.

Business code raises :class:`EhcertError` with a kind; only here does a kind become an
HTTP status (Boulder's ``probs``). The ``type`` URI ends in the kind, so clients switch
on it; ``detail`` is the human sentence.

Every answer that is not a success is a problem document, whichever router it comes
from, so a router added later gets the same for free: the framework's own errors (an
unknown route is ``not-found``, a wrong method ``method-not-allowed`` with ``Allow``),
request validation (``malformed``, naming the field), and any unexpected exception
(``internal``, 500, with no traceback in the answer and one line in the log;
:class:`UnexpectedErrors`).

A refusal of a signed request that no service recorded (a malformed JWS, a wrong field,
a bad nonce) is audited here through ``app.state.audit_refusal``, without the request's
content: who sent it when known, the route, the kind and the sentence.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from email.utils import format_datetime
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ehcert.core.errors import EhcertError, ErrorKind

PROBLEM_TYPE_PREFIX = "urn:ehcert:problem:"
PROBLEM_MEDIA_TYPE = "application/problem+json"

_log = logging.getLogger(__name__)

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
    ErrorKind.WRONG_ENVIRONMENT: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.METHOD_NOT_ALLOWED: 405,
    ErrorKind.CONFLICT: 409,
    ErrorKind.PAYLOAD_TOO_LARGE: 413,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.INTERNAL: 500,
}

_KIND_BY_STATUS: dict[int, ErrorKind] = {
    404: ErrorKind.NOT_FOUND,
    405: ErrorKind.METHOD_NOT_ALLOWED,
    413: ErrorKind.PAYLOAD_TOO_LARGE,
    429: ErrorKind.RATE_LIMITED,
}

RefusalAudit = Callable[[str, str, dict[str, object]], None]
"""``(actor, subject, detail)``: writes one refusal record in a transaction of its own."""


def problem_body(kind: ErrorKind, detail: str, field: str | None = None) -> dict[str, object]:
    """The RFC 9457 members every problem here has: type, title, status, detail, field."""
    return {
        "type": PROBLEM_TYPE_PREFIX + kind.value,
        "title": kind.value.replace("-", " ").capitalize(),
        "status": STATUS_BY_KIND.get(kind, 500),
        "detail": detail,
        "field": field,
    }


def problem_response(
    kind: ErrorKind,
    detail: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(kind, detail, field)
    return JSONResponse(
        body, status_code=int(str(body["status"])), media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def audit_edge_refusal(request: Request, kind: ErrorKind, detail: str, field: str | None) -> None:
    """Record a refusal of a write request that no service has recorded (module docstring).

    Reads (GET, HEAD) are not decisions and are not audited. A failure to write the
    record is logged and does not change the answer: the refusal stands either way.
    """
    audit: RefusalAudit | None = getattr(request.app.state, "audit_refusal", None)
    if audit is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    actor = getattr(request.state, "actor", None) or "anonymous"
    route = f"{request.method} {request.url.path}"
    record: dict[str, object] = {"action": route, "kind": kind.value, "reason": detail}
    if field is not None:
        record["field"] = field
    try:
        audit(actor, route, record)
    except Exception as error:  # the refusal is answered even if its record is not written
        _log.error("could not audit a refusal of %s: %s: %s", route, type(error).__name__, error)


async def ehcert_error_handler(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, EhcertError)
    headers: dict[str, str] = {}
    if error.kind is ErrorKind.BAD_NONCE:
        # RFC 8555 section 6.5: a badNonce answer carries a fresh nonce for the retry.
        headers["Replay-Nonce"] = request.app.state.new_nonce()
    if error.retry_at is not None:
        # RFC 9110 section 10.2.3: the HTTP-date form, the very moment the detail names.
        headers["Retry-After"] = format_datetime(error.retry_at.astimezone(dt.UTC), usegmt=True)
    if not error.recorded:
        audit_edge_refusal(request, error.kind, error.detail, error.field)
    return problem_response(error.kind, error.detail, field=error.field, headers=headers or None)


async def validation_error_handler(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0] if error.errors() else {}
    location = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = first.get("msg", "invalid request")
    detail = f"Field {location or 'body'} is invalid: {message}."
    audit_edge_refusal(request, ErrorKind.MALFORMED, detail, location or None)
    return problem_response(ErrorKind.MALFORMED, detail, field=location or None)


async def http_error_handler(request: Request, error: Exception) -> JSONResponse:
    """The framework's own errors (unknown route, wrong method) as problem documents."""
    assert isinstance(error, HTTPException)
    kind = _KIND_BY_STATUS.get(error.status_code)
    if kind is None:
        kind = ErrorKind.MALFORMED if error.status_code < 500 else ErrorKind.INTERNAL
    if kind is ErrorKind.NOT_FOUND:
        detail = f"There is nothing at {request.url.path}."
    elif kind is ErrorKind.METHOD_NOT_ALLOWED:
        allowed = (error.headers or {}).get("Allow", "")
        detail = f"{request.url.path} does not take {request.method}; it takes {allowed}."
    else:
        detail = str(error.detail)
    body = problem_body(kind, detail)
    body["status"] = error.status_code
    return JSONResponse(
        body,
        status_code=error.status_code,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(error.headers or {}),
    )


class UnexpectedErrors:
    """Outermost ASGI middleware: an exception no handler knew becomes a 500 problem.

    The answer says only that the platform failed (no traceback: it would tell an
    attacker about the code); the log gets one line naming the route and the error,
    not a multi-kilobyte traceback per bad request. Each such line is a bug to fix at
    its cause: bad input is a 4xx refusal, never this.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            where = f"{scope.get('method', '?')} {scope.get('path', '?')}"
            _log.error("unexpected error on %s: %s: %.300s", where, type(error).__name__, error)
            if started:
                return
            await _send_problem(send, ErrorKind.INTERNAL, "The platform failed to answer.")


async def _send_problem(send: Send, kind: ErrorKind, detail: str) -> None:
    body: Any = problem_body(kind, detail)
    encoded = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": body["status"],
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(encoded)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": encoded})

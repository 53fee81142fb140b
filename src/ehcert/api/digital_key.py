"""The RA over HTTP for the hybrid method: certificates with a digital key.

A person without a Belgian eID has no key to sign a JWS with before their first
certificate; their proof is the digital key a registration office issued
(``ra.digital_key``): username, password and a single-use TOTP code, sent in a JSON
body (``application/json``) beside the operation's own fields. Replay is what the
TOTP rule refuses (a code is accepted once); possession of the new key is what the
CSR's self-signature proves, as on the eID path. The login is its own unit of work
(``ra.hybrid_method.DigitalKeyLogins``); the operation that follows is the RA's, with
the identity it proved (method ``digital-key``), audited under that name.

- ``POST /v1/digital-key/certificates``: ``csr``;
- ``POST /v1/digital-key/certificates/renew``: ``csr``, ``serial``;
- ``POST /v1/digital-key/certificates/revoke``: ``serial``, optional ``reason``.

Each also takes ``username``, ``password`` and ``code``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography import x509
from fastapi import APIRouter, Request

from ehcert.api.authentication import signed_payload
from ehcert.api.fields import b64url_field, only_fields, serial_field, text_field
from ehcert.api.ra import CertificateOperations
from ehcert.api.schemas import IssuedAnswer, StatusAnswer, issued_answer, status_answer
from ehcert.core.identity import Identity
from ehcert.ra.digital_key import DigitalKeyLogin

LOGIN_FIELDS = ("username", "password", "code")


class DigitalKeyAuthentication(Protocol):
    """``ra.hybrid_method.DigitalKeyLogins``."""

    def authenticate(self, login: DigitalKeyLogin, now: dt.datetime) -> Identity: ...


@dataclass(frozen=True, slots=True)
class DigitalKeyPorts:
    logins: DigitalKeyAuthentication
    certificates: CertificateOperations
    now: Callable[[], dt.datetime]
    chain: Sequence[x509.Certificate]
    environment: str


def _body(*fields: str, required: Sequence[str]) -> dict[str, Any]:
    properties = {name: {"type": "string"} for name in (*LOGIN_FIELDS, *fields)}
    return {
        "requestBody": {
            "required": True,
            "description": "The digital key's username, password and the current code of "
            "the authenticator app, with the operation's fields.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": [*LOGIN_FIELDS, *required],
                        "additionalProperties": False,
                        "properties": properties,
                    }
                }
            },
        }
    }


async def _login(
    request: Request, ports: DigitalKeyPorts, *fields: str
) -> tuple[Identity, dict[str, Any]]:
    """Read the JSON body (strictly, as a signed payload is read) and log in with it."""
    payload = signed_payload(await request.body())
    only_fields(payload, *LOGIN_FIELDS, *fields)
    username = text_field(payload, "username") or ""
    request.state.actor = f"digital-key:{username[:64]}"
    login = DigitalKeyLogin(
        username,
        text_field(payload, "password") or "",
        text_field(payload, "code") or "",
    )
    return ports.logins.authenticate(login, ports.now()), payload


def digital_key_router(ports: DigitalKeyPorts) -> APIRouter:
    router = APIRouter()
    certificates = ports.certificates

    @router.post(
        "/v1/digital-key/certificates",
        status_code=201,
        response_model=IssuedAnswer,
        tags=["digital-key"],
        openapi_extra=_body("csr", required=["csr"]),
    )
    async def request_with_digital_key(request: Request) -> IssuedAnswer:
        """Request a first certificate with a digital key instead of an eID."""
        identity, payload = await _login(request, ports, "csr")
        facts = certificates.request(
            identity, b64url_field(payload, "csr"), None, None, ports.now()
        )
        return issued_answer(facts, ports.chain, ports.environment)

    @router.post(
        "/v1/digital-key/certificates/renew",
        status_code=201,
        response_model=IssuedAnswer,
        tags=["digital-key"],
        openapi_extra=_body("csr", "serial", required=["csr", "serial"]),
    )
    async def renew_with_digital_key(request: Request) -> IssuedAnswer:
        """Renew inside the 90-day window with a digital key."""
        identity, payload = await _login(request, ports, "csr", "serial")
        facts = certificates.renew(
            identity, b64url_field(payload, "csr"), serial_field(payload), ports.now()
        )
        return issued_answer(facts, ports.chain, ports.environment)

    @router.post(
        "/v1/digital-key/certificates/revoke",
        response_model=StatusAnswer,
        tags=["digital-key"],
        openapi_extra=_body("serial", "reason", required=["serial"]),
    )
    async def revoke_with_digital_key(request: Request) -> StatusAnswer:
        """Revoke one's own certificate with a digital key (a lost keystore)."""
        identity, payload = await _login(request, ports, "serial", "reason")
        reason = text_field(payload, "reason", required=False) or "unspecified"
        facts = certificates.revoke(identity, serial_field(payload), reason, ports.now())
        return status_answer(facts, ports.now())

    return router

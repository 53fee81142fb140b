"""The registration office over HTTP: record an identity check and issue a digital key,
revoke a digital key.

Both are signed requests (``api.authentication``), signed with the officer's own
eHealth certificate; whether the signer is an active officer is the office's rule
(``ra.registration_office``). The enrolment answer carries the ``otpauth://`` URI of
the new key's TOTP secret once, for the office to show as a QR code; it is never
served again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ehcert.api.authentication import SignedRequests
from ehcert.api.fields import only_fields, text_field
from ehcert.api.openapi import SIGNED_BODY
from ehcert.api.protocol import NonceIssuer, nonce_headers
from ehcert.core.documents import IdentityDocument
from ehcert.core.identity import Identity
from ehcert.ra.digital_key import StoredDigitalKey
from ehcert.ra.registration_office import Enrolment


class OfficeOperations(Protocol):
    """``ra.hybrid_method.RegistrationOffices``."""

    def register(
        self,
        officer: Identity,
        ssin: str,
        document: IdentityDocument,
        *,
        username: str,
        password: str,
        now: dt.datetime,
    ) -> Enrolment: ...

    def revoke_key(
        self, officer: Identity, username: str, reason: str, now: dt.datetime
    ) -> StoredDigitalKey: ...


@dataclass(frozen=True, slots=True)
class OfficePorts:
    offices: OfficeOperations
    signed: SignedRequests
    new_nonce: NonceIssuer
    now: Callable[[], dt.datetime]


class EnrolmentAnswer(BaseModel):
    username: str
    ssin: str
    provisioning_uri: str
    office: str
    issued_at: dt.datetime


class RevokedKeyAnswer(BaseModel):
    username: str
    ssin: str
    revoked_at: dt.datetime
    reason: str | None


_REGISTRATION_FIELDS = (
    "ssin",
    "document_type",
    "document_number",
    "issuing_country",
    "document_expiry",
    "username",
    "password",
)


def office_router(ports: OfficePorts) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/v1/office/registrations",
        status_code=201,
        response_model=EnrolmentAnswer,
        tags=["office"],
        openapi_extra=SIGNED_BODY,
    )
    async def register(request: Request, response: Response) -> EnrolmentAnswer:
        """Record an in-person identity check and issue the person's digital key.

        Payload: ``ssin`` (a BIS number), ``document_type`` (passport, identity-card or
        residence-permit), ``document_number``, ``issuing_country`` (ISO 3166-1
        alpha-2), ``document_expiry`` (YYYY-MM-DD), ``username`` and ``password`` (the
        person's choice, at least 12 characters).
        """
        identity, payload = await ports.signed(request)
        only_fields(payload, *_REGISTRATION_FIELDS)
        values = {name: text_field(payload, name) or "" for name in _REGISTRATION_FIELDS}
        document = IdentityDocument.parse(
            values["document_type"],
            values["document_number"],
            values["issuing_country"],
            values["document_expiry"],
        )
        enrolment = ports.offices.register(
            identity,
            values["ssin"],
            document,
            username=values["username"],
            password=values["password"],
            now=ports.now(),
        )
        response.headers.update(nonce_headers(ports.new_nonce))
        return EnrolmentAnswer(
            username=enrolment.username,
            ssin=enrolment.ssin,
            provisioning_uri=enrolment.provisioning_uri,
            office=enrolment.office_code,
            issued_at=enrolment.issued_at,
        )

    @router.post(
        "/v1/office/digital-keys/revoke",
        response_model=RevokedKeyAnswer,
        tags=["office"],
        openapi_extra=SIGNED_BODY,
    )
    async def revoke_key(request: Request, response: Response) -> RevokedKeyAnswer:
        """Revoke a digital key: it stops requests, renewals and revocations at once.

        Payload: ``username`` and ``reason``.
        """
        identity, payload = await ports.signed(request)
        only_fields(payload, "username", "reason")
        revoked = ports.offices.revoke_key(
            identity,
            text_field(payload, "username") or "",
            text_field(payload, "reason") or "",
            ports.now(),
        )
        response.headers.update(nonce_headers(ports.new_nonce))
        assert revoked.revoked_at is not None
        return RevokedKeyAnswer(
            username=revoked.username,
            ssin=revoked.ssin,
            revoked_at=revoked.revoked_at,
            reason=revoked.revocation_reason,
        )

    return router

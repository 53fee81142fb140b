"""The STS over HTTP: ``GET /sts/certificate`` and ``POST /sts/token``.

``POST /sts/token`` takes the JWS every signed request to this platform uses (flattened
JSON, fresh nonce from ``GET /v1/nonce``, the exact URL; :mod:`ehcert.pki.jws`) over the
payload ``{"attributes": [...], "validity_hours": n}`` and answers the signed SAML
assertion as ``application/samlassertion+xml`` (RFC 6922), with a fresh nonce in
``Replay-Nonce``. Refusals are RFC 9457 problems, as everywhere (``api.problems``).

Authentication is split around the STS's own check of the signer's issuer, so that an
eID or a foreign certificate is refused before the nonce is spent (``sts.issuance``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ehcert.api.authentication import SignedRequests
from ehcert.api.openapi import SIGNED_BODY, binary_answer
from ehcert.api.protocol import NonceIssuer
from ehcert.core.identity import Identity
from ehcert.sts.service import ASSERTION_MEDIA_TYPE, IssuedToken

PEM_MEDIA_TYPE = "application/x-pem-file"


class TokenOperations(Protocol):
    """What the STS routes call (``sts.issuance.TokenIssuance``)."""

    def certificate_pem(self) -> bytes: ...

    def check_signer(self, leaf: x509.Certificate) -> None: ...

    def issue(
        self,
        identity: Identity,
        certificate: x509.Certificate,
        payload: Mapping[str, object],
        now: dt.datetime,
    ) -> IssuedToken: ...


@dataclass(frozen=True, slots=True)
class StsPorts:
    tokens: TokenOperations
    signed: SignedRequests
    new_nonce: NonceIssuer
    now: Callable[[], dt.datetime]


def sts_router(ports: StsPorts) -> APIRouter:
    router = APIRouter(prefix="/sts", tags=["sts"])

    def token(body: bytes, path: str) -> IssuedToken:
        verified = ports.signed.verify(body, path)
        ports.tokens.check_signer(verified.chain[0])
        identity, payload = ports.signed.identify(verified)
        return ports.tokens.issue(identity, verified.chain[0], payload, ports.now())

    @router.get(
        "/certificate",
        response_class=Response,
        responses=binary_answer(PEM_MEDIA_TYPE, "The STS signing certificate, PEM."),
    )
    def sts_certificate() -> Response:
        """The STS signing certificate, PEM: what relying parties verify tokens with."""
        return Response(ports.tokens.certificate_pem(), media_type=PEM_MEDIA_TYPE)

    @router.post(
        "/token",
        response_class=Response,
        responses=binary_answer(ASSERTION_MEDIA_TYPE, "A signed SAML 1.1 assertion."),
        openapi_extra=SIGNED_BODY,
    )
    async def sts_token(request: Request) -> Response:
        """A SAML 1.1 holder-of-key assertion for the signer of the JWS request.

        Payload: optional ``attributes`` (designators) and ``validity_hours``.
        """
        body = await request.body()
        issued = await run_in_threadpool(token, body, request.url.path)
        headers = {"Cache-Control": "no-store", "Replay-Nonce": ports.new_nonce()}
        return Response(issued.xml, media_type=ASSERTION_MEDIA_TYPE, headers=headers)

    return router

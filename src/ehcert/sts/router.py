"""The STS over HTTP: ``GET /sts/certificate`` and ``POST /sts/token``.

``POST /sts/token`` takes the JWS every signed request to this platform uses (flattened
JSON, fresh nonce from ``GET /v1/nonce``, the exact URL; :mod:`ehcert.pki.jws`) over the
payload ``{"attributes": [...], "validity_hours": n}`` and answers the signed SAML
assertion as ``application/samlassertion+xml`` (RFC 6922), with a fresh nonce in
``Replay-Nonce``. Refusals are RFC 9457 problems, as everywhere (``api.problems``).

Authentication runs in this order, so each refusal says its own cause:

1. the JWS signature and URL (:func:`~ehcert.pki.jws.verify_jws`): a bad signature;
2. the signer certificate's issuer (:func:`~ehcert.sts.service.check_issued_here`): an
   eID or a certificate of another environment, refused before the nonce is spent;
3. the nonce and the certificate itself (``Platform.authenticate``): a replayed nonce,
   a certificate not issued here, revoked or expired.

Issued tokens and refusals met after authentication go to the audit log, like the RA's
decisions; a refusal is written in a transaction of its own.

The STS key and certificate are opened (made, on first use) lazily, once per router, so
a platform that never serves a token never makes an STS key.
"""

from __future__ import annotations

import datetime as dt
import threading

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.jws import verify_jws
from ehcert.platform import Platform
from ehcert.registry.adapter import RegistryFacts
from ehcert.store.audit import AuditLog
from ehcert.sts.keys import StsCredential
from ehcert.sts.service import (
    ASSERTION_MEDIA_TYPE,
    IssuedToken,
    SecurityTokenService,
    check_issued_here,
    parse_token_request,
)

PEM_MEDIA_TYPE = "application/x-pem-file"


class StsGateway:
    """Binds the STS to one platform: its keys, registry, nonces and audit log."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._lock = threading.Lock()
        self._service: SecurityTokenService | None = None

    def service(self) -> SecurityTokenService:
        """The STS, its key and certificate opened (or made) on first call."""
        with self._lock:
            if self._service is None:
                platform = self._platform
                settings = platform.settings
                issued = platform.ca.sts_credential(platform.now())
                self._service = SecurityTokenService(
                    StsCredential(issued.certificate, issued.signer),
                    f"{settings.base_url}/sts",
                    token_validity=dt.timedelta(hours=settings.sts_token_hours),
                    max_token_validity=dt.timedelta(hours=settings.sts_max_token_hours),
                )
            return self._service

    def certificate_pem(self) -> bytes:
        return self.service().credential.certificate.public_bytes(serialization.Encoding.PEM)

    def token(self, body: bytes, url: str) -> IssuedToken:
        """Authenticate a token request (see the module docstring) and issue the token."""
        platform = self._platform
        service = self.service()
        verified = verify_jws(body, expected_url=url)
        eid_issuers = [
            pair.certificate
            for pair in (platform.hierarchy.eid_root, platform.hierarchy.eid_ca)
            if pair is not None
        ]
        check_issued_here(
            verified.chain[0],
            platform.hierarchy.issuing.certificate,
            [*eid_issuers, *platform.eid_anchors],
            platform.settings.environment,
        )
        identity, payload = platform.authenticate(body, url)
        holder = identity.holder
        if identity.method != "certificate" or holder is None:  # pragma: no cover - step 2
            raise EhcertError(
                ErrorKind.UNAUTHORIZED, "The STS needs a request signed with an eHealth key."
            )
        now = platform.now()
        try:
            request = parse_token_request(payload, platform.settings.sts_max_token_hours)
            with platform.unit_of_work() as session:
                issued = service.issue(
                    verified.chain[0], holder, RegistryFacts(session), request, now
                )
                AuditLog(session).append(
                    now,
                    "sts-token",
                    identity.actor,
                    str(holder),
                    {
                        "assertion_id": issued.assertion_id,
                        "not_on_or_after": issued.not_on_or_after.isoformat(),
                        "attributes": [a.designator.name for a in issued.attributes],
                    },
                )
        except EhcertError as refusal:
            with platform.unit_of_work() as session:
                AuditLog(session).append(
                    now,
                    "refused",
                    identity.actor,
                    str(holder),
                    {"action": "sts-token", "kind": refusal.kind.value, "reason": refusal.detail},
                )
            raise
        return issued


def sts_router(platform: Platform) -> APIRouter:
    """The STS routes for ``platform``, to include in its FastAPI application."""
    gateway = StsGateway(platform)
    router = APIRouter(prefix="/sts", tags=["sts"])

    @router.get("/certificate")
    def sts_certificate() -> Response:
        """The STS signing certificate, PEM: what relying parties verify tokens with."""
        return Response(gateway.certificate_pem(), media_type=PEM_MEDIA_TYPE)

    @router.post("/token")
    async def sts_token(request: Request) -> Response:
        """A SAML 1.1 holder-of-key assertion for the signer of the JWS request."""
        body = await request.body()
        url = platform.settings.base_url + request.url.path
        issued = await run_in_threadpool(gateway.token, body, url)
        headers = {"Cache-Control": "no-store", "Replay-Nonce": platform.new_nonce()}
        return Response(issued.xml, media_type=ASSERTION_MEDIA_TYPE, headers=headers)

    return router

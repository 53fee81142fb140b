"""The RA over HTTP: certificates (request, renew, revoke, status) and the certra queries.

Each route authenticates its signed request (``api.authentication``), reads its fields
and calls one operation of :class:`CertificateOperations`, the RA's application service
(``ra.application``) as this edge sees it; the answer shapes are ``api.schemas``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from ehcert.api.authentication import SignedRequests
from ehcert.api.fields import b64url_field, only_fields, serial_field, serial_hex, text_field
from ehcert.api.openapi import SIGNED_BODY
from ehcert.api.protocol import NonceIssuer, nonce_headers
from ehcert.api.schemas import (
    ApplicationIdsAnswer,
    IssuedAnswer,
    QualitiesAnswer,
    RenewalCheckAnswer,
    RevocableAnswer,
    StatusAnswer,
    issued_answer,
    status_answer,
)
from ehcert.core.errors import EhcertError
from ehcert.core.identity import Identity
from ehcert.ra.ports import CertificateFacts


class CertificateOperations(Protocol):
    """What the RA's routes call (``ra.application.CertificateService``)."""

    def request(
        self,
        identity: Identity,
        csr: bytes,
        institution: str | None,
        app: str | None,
        now: dt.datetime,
    ) -> CertificateFacts: ...

    def renew(
        self, identity: Identity, csr: bytes, serial: str, now: dt.datetime
    ) -> CertificateFacts: ...

    def revoke(
        self, identity: Identity, serial: str, reason: str, now: dt.datetime
    ) -> CertificateFacts: ...

    def status(self, serial_hex: str) -> CertificateFacts: ...

    def renewal_check(
        self, identity: Identity, serial: str, now: dt.datetime
    ) -> tuple[CertificateFacts, EhcertError | None]: ...

    def revocable(self, identity: Identity, now: dt.datetime) -> list[CertificateFacts]: ...

    def application_ids(self, identity: Identity, holder: str, now: dt.datetime) -> list[str]: ...

    def qualities(self, identity: Identity, now: dt.datetime) -> dict[str, object]: ...


@dataclass(frozen=True, slots=True)
class RaPorts:
    certificates: CertificateOperations
    signed: SignedRequests
    new_nonce: NonceIssuer
    now: Callable[[], dt.datetime]
    chain: Sequence[x509.Certificate]  # issuing CA then root: what accompanies a certificate
    environment: str
    # One transaction for a whole signed request: the nonce spent, the signer's eID
    # status read, the decision and the next nonce commit together
    # (``store.unit_of_work.Transactions.shared``). The block runs without an await, so
    # no await; on SQLite the units of one process take turns (``Transactions.shared``).
    unit: Callable[[], AbstractContextManager[None]]


def ra_router(ports: RaPorts) -> APIRouter:
    router = APIRouter()
    certificates = ports.certificates
    _issuing_routes(router, ports)

    @router.post(
        "/v1/certificates/revoke",
        response_model=StatusAnswer,
        tags=["ra"],
        openapi_extra=SIGNED_BODY,
    )
    async def revoke_certificate(request: Request, response: Response) -> StatusAnswer:
        """Revoke with an RFC 5280 reason; OCSP and the CRL show it at once.

        Payload: ``serial`` (hex) and an optional ``reason``.
        """
        identity, payload = await ports.signed(request)
        only_fields(payload, "serial", "reason")
        reason = text_field(payload, "reason", required=False) or "unspecified"
        facts = certificates.revoke(identity, serial_field(payload), reason, ports.now())
        response.headers.update(nonce_headers(ports.new_nonce))
        return status_answer(facts, ports.now())

    @router.get("/v1/certificates/{serial}", response_model=StatusAnswer, tags=["ra"])
    def certificate_status(serial: str) -> StatusAnswer:
        """Status of one certificate issued here."""
        return status_answer(certificates.status(serial_hex(serial)), ports.now())

    @router.post(
        "/v1/qualities",
        response_model=QualitiesAnswer,
        tags=["certra"],
        openapi_extra=SIGNED_BODY,
    )
    async def qualities(request: Request) -> QualitiesAnswer:
        """What the signer may request for (certra getActorQualities). Payload: ``{}``."""
        identity, payload = await ports.signed(request)
        only_fields(payload)
        return QualitiesAnswer.model_validate(certificates.qualities(identity, ports.now()))

    @router.post(
        "/v1/application-ids",
        response_model=ApplicationIdsAnswer,
        tags=["certra"],
        openapi_extra=SIGNED_BODY,
    )
    async def application_ids(request: Request) -> ApplicationIdsAnswer:
        """Application ids in use by an institution (certra getExistingApplicationIds).

        Payload: ``holder``, the institution id.
        """
        identity, payload = await ports.signed(request)
        only_fields(payload, "holder")
        holder = text_field(payload, "holder") or ""
        ids = certificates.application_ids(identity, holder, ports.now())
        return ApplicationIdsAnswer(holder=holder, application_ids=ids)

    @router.post(
        "/v1/revocable",
        response_model=RevocableAnswer,
        tags=["certra"],
        openapi_extra=SIGNED_BODY,
    )
    async def revocable(request: Request) -> RevocableAnswer:
        """Certificates the signer may revoke (certra getRevocableCertificates). Payload: ``{}``."""
        identity, payload = await ports.signed(request)
        only_fields(payload)
        now = ports.now()
        found = certificates.revocable(identity, now)
        return RevocableAnswer(certificates=[status_answer(f, now) for f in found])

    @router.post(
        "/v1/renewal-check",
        response_model=RenewalCheckAnswer,
        tags=["certra"],
        openapi_extra=SIGNED_BODY,
    )
    async def renewal_check(request: Request) -> RenewalCheckAnswer:
        """Would a renewal be accepted now (certra validateRenew)? Payload: ``serial`` (hex)."""
        identity, payload = await ports.signed(request)
        only_fields(payload, "serial")
        now = ports.now()
        serial = serial_field(payload)
        current, refusal = certificates.renewal_check(identity, serial, now)
        return RenewalCheckAnswer.build(current, refusal, now)

    return router


def _issuing_routes(router: APIRouter, ports: RaPorts) -> None:
    """Request and renewal: each a whole signed request in one transaction (``RaPorts.unit``),
    in the thread pool: the eID path, pkilint, the CA signature and the commit are CPU and
    disk work that would otherwise stop the event loop, and every other request with it."""
    certificates = ports.certificates

    def issued(facts: CertificateFacts) -> IssuedAnswer:
        return issued_answer(facts, ports.chain, ports.environment)

    @router.post(
        "/v1/certificates",
        status_code=201,
        response_model=IssuedAnswer,
        tags=["ra"],
        openapi_extra=SIGNED_BODY,
    )
    async def request_certificate(request: Request, response: Response) -> IssuedAnswer:
        """Request a first certificate, signed with an eID (certra generateCertificate).

        Payload: ``csr`` (base64url DER), optional ``institution`` and ``application_id``.
        """
        body = await request.body()

        def work() -> CertificateFacts:
            with ports.unit():
                identity, payload = ports.signed.read(request, body)
                only_fields(payload, "csr", "institution", "application_id")
                facts = certificates.request(
                    identity,
                    b64url_field(payload, "csr"),
                    text_field(payload, "institution", required=False),
                    text_field(payload, "application_id", required=False),
                    ports.now(),
                )
                response.headers.update(nonce_headers(ports.new_nonce))
            return facts

        return issued(await run_in_threadpool(work))

    @router.post(
        "/v1/certificates/renew",
        status_code=201,
        response_model=IssuedAnswer,
        tags=["ra"],
        openapi_extra=SIGNED_BODY,
    )
    async def renew_certificate(request: Request, response: Response) -> IssuedAnswer:
        """Renew inside the 90-day window (certra generateCertificateForRenewal).

        Payload: ``csr`` (base64url DER) and ``serial`` (hex) of the current certificate.
        """
        body = await request.body()

        def work() -> CertificateFacts:
            with ports.unit():
                identity, payload = ports.signed.read(request, body)
                only_fields(payload, "csr", "serial")
                facts = certificates.renew(
                    identity,
                    b64url_field(payload, "csr"),
                    serial_field(payload),
                    ports.now(),
                )
                response.headers.update(nonce_headers(ports.new_nonce))
            return facts

        return issued(await run_in_threadpool(work))

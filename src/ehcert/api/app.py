"""The platform's HTTP API (FastAPI): parse, authenticate the signature, call, answer.

No business rule lives here (DESIGN.md): each route turns HTTP into a call on the
:class:`~ehcert.platform.Platform` and its answer back into JSON; errors become RFC 9457
problem documents in ``api.problems``. The contract is in ``docs/http-api.md``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Annotated, Any

from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ehcert import __version__
from ehcert.api.limits import BodySizeLimit
from ehcert.api.problems import ehcert_error_handler, validation_error_handler
from ehcert.api.schemas import (
    ApplicationIdsAnswer,
    CaCertificates,
    EtkChallengeAnswer,
    EtkDescription,
    EtkLookupAnswer,
    IssuedAnswer,
    NonceAnswer,
    QualitiesAnswer,
    RenewalCheckAnswer,
    RevocableAnswer,
    StatusAnswer,
    etk_lookup_answer,
    etk_published_answer,
    issued_answer,
    status_answer,
)
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.platform import Platform
from ehcert.sts import sts_router

OCSP_REQUEST = "application/ocsp-request"
OCSP_RESPONSE = "application/ocsp-response"
PKIX_CRL = "application/pkix-crl"
PKIX_CERT = "application/pkix-cert"


def _field(payload: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = payload.get(name)
    if value is None:
        if required:
            raise EhcertError(ErrorKind.MALFORMED, f"Field {name} is required.", field=name)
        return None
    if not isinstance(value, str) or not value:
        raise EhcertError(ErrorKind.MALFORMED, f"Field {name} must be a string.", field=name)
    return value


def _b64url_field(payload: dict[str, Any], name: str) -> bytes:
    text = _field(payload, name) or ""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise EhcertError(
            ErrorKind.MALFORMED, f"Field {name} must be base64url.", field=name
        ) from error


def _csr(payload: dict[str, Any]) -> bytes:
    return _b64url_field(payload, "csr")


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 section 13.1.2: weak comparison, a list of tags or ``*``."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    tags = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return etag in tags


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="ehcert platform",
        version=__version__,
        description="eHealth certificates for care providers and institutions.",
    )
    app.state.platform = platform
    app.add_middleware(BodySizeLimit, limit=platform.settings.max_body_bytes)
    app.add_exception_handler(EhcertError, ehcert_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)

    async def signed(request: Request) -> tuple[Any, dict[str, Any]]:
        body = await request.body()
        url = platform.settings.base_url + request.url.path
        return platform.authenticate(body, url)

    def nonce_headers() -> dict[str, str]:
        return {"Replay-Nonce": platform.new_nonce(), "Cache-Control": "no-store"}

    @app.get("/v1/nonce", response_model=NonceAnswer, tags=["protocol"])
    def get_nonce(response: Response) -> NonceAnswer:
        """A fresh single-use nonce (RFC 8555 section 7.2), also in ``Replay-Nonce``."""
        value = platform.new_nonce()
        response.headers["Replay-Nonce"] = value
        response.headers["Cache-Control"] = "no-store"
        return NonceAnswer(nonce=value)

    @app.post("/v1/certificates", status_code=201, response_model=IssuedAnswer, tags=["ra"])
    async def request_certificate(request: Request, response: Response) -> IssuedAnswer:
        """Request a first certificate, signed with an eID (certra generateCertificate)."""
        identity, payload = await signed(request)
        facts = platform.ra.request(
            identity,
            _csr(payload),
            _field(payload, "institution", required=False),
            _field(payload, "application_id", required=False),
            platform.now(),
        )
        response.headers.update(nonce_headers())
        return issued_answer(facts, platform)

    @app.post("/v1/certificates/renew", status_code=201, response_model=IssuedAnswer, tags=["ra"])
    async def renew_certificate(request: Request, response: Response) -> IssuedAnswer:
        """Renew inside the 90-day window (certra generateCertificateForRenewal)."""
        identity, payload = await signed(request)
        facts = platform.ra.renew(
            identity, _csr(payload), _field(payload, "serial") or "", platform.now()
        )
        response.headers.update(nonce_headers())
        return issued_answer(facts, platform)

    @app.post("/v1/certificates/revoke", response_model=StatusAnswer, tags=["ra"])
    async def revoke_certificate(request: Request, response: Response) -> StatusAnswer:
        """Revoke with an RFC 5280 reason; OCSP and the CRL show it at once."""
        identity, payload = await signed(request)
        reason = _field(payload, "reason", required=False) or "unspecified"
        facts = platform.ra.revoke(
            identity, _field(payload, "serial") or "", reason, platform.now()
        )
        response.headers.update(nonce_headers())
        return status_answer(facts, platform.now())

    @app.get("/v1/certificates/{serial}", response_model=StatusAnswer, tags=["ra"])
    def certificate_status(serial: str) -> StatusAnswer:
        """Status of one certificate issued here."""
        return status_answer(platform.certificate(serial), platform.now())

    @app.post("/v1/qualities", response_model=QualitiesAnswer, tags=["certra"])
    async def qualities(request: Request) -> QualitiesAnswer:
        """What the signer may request for (certra getActorQualities)."""
        identity, _ = await signed(request)
        return QualitiesAnswer.model_validate(platform.ra.qualities(identity, platform.now()))

    @app.post("/v1/application-ids", response_model=ApplicationIdsAnswer, tags=["certra"])
    async def application_ids(request: Request) -> ApplicationIdsAnswer:
        """Application ids in use by an institution (certra getExistingApplicationIds)."""
        identity, payload = await signed(request)
        holder = _field(payload, "holder") or ""
        ids = platform.ra.application_ids(identity, holder, platform.now())
        return ApplicationIdsAnswer(holder=holder, application_ids=ids)

    @app.post("/v1/revocable", response_model=RevocableAnswer, tags=["certra"])
    async def revocable(request: Request) -> RevocableAnswer:
        """Certificates the signer may revoke (certra getRevocableCertificates)."""
        identity, _ = await signed(request)
        now = platform.now()
        found = platform.ra.revocable(identity, now)
        return RevocableAnswer(certificates=[status_answer(f, now) for f in found])

    @app.post("/v1/renewal-check", response_model=RenewalCheckAnswer, tags=["certra"])
    async def renewal_check(request: Request) -> RenewalCheckAnswer:
        """Would a renewal be accepted now (certra validateRenew)?"""
        identity, payload = await signed(request)
        now = platform.now()
        current, refusal = platform.ra.renewal_check(identity, _field(payload, "serial") or "", now)
        return RenewalCheckAnswer.build(current, refusal, now)

    @app.post(
        "/v1/etk/challenges", status_code=201, response_model=EtkChallengeAnswer, tags=["etk"]
    )
    async def etk_challenge(request: Request, response: Response) -> EtkChallengeAnswer:
        """ETK registration, step 1: a challenge encrypted to the encryption certificate."""
        identity, payload = await signed(request)
        issued = platform.etk_challenge(identity, _b64url_field(payload, "encryption_certificate"))
        response.headers.update(nonce_headers())
        return EtkChallengeAnswer(
            challenge_id=issued.id,
            challenge=base64.urlsafe_b64encode(issued.encrypted_challenge)
            .rstrip(b"=")
            .decode("ascii"),
            expires_at=issued.expires_at,
        )

    @app.post("/v1/etk", status_code=201, response_model=EtkDescription, tags=["etk"])
    async def etk_register(request: Request, response: Response) -> EtkDescription:
        """ETK registration, step 2: the decrypted challenge; publishes the ETK."""
        identity, payload = await signed(request)
        publication = platform.etk_answer(
            identity, _field(payload, "challenge_id") or "", _b64url_field(payload, "answer")
        )
        response.headers.update(nonce_headers())
        return etk_published_answer(publication)

    @app.get("/v1/etk", response_model=EtkLookupAnswer, tags=["etk"])
    def etk_lookup(
        request: Request,
        identifiers: Annotated[list[str], Query(alias="id")] = [],  # noqa: B006
    ) -> Response:
        """GetEtk: per identifier the current ETK, the matching identifiers, or an error.

        Public and cacheable: a strong ETag over the answer; ``If-None-Match`` gives 304.
        ``no-cache`` makes caches revalidate every time, so a revocation shows at once.
        """
        answer = etk_lookup_answer(platform.etk_lookup(identifiers))
        body = json.dumps(answer.model_dump(mode="json"), separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": "public, no-cache", "Vary": "Accept"}
        if _etag_matches(request.headers.get("If-None-Match"), etag):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    @app.get("/v1/ca", response_model=CaCertificates, tags=["pki"])
    def ca_certificates() -> CaCertificates:
        """The CA certificates of this environment, PEM."""
        return CaCertificates.from_platform(platform)

    @app.get("/ca/{name}.crt", tags=["pki"])
    def ca_certificate(name: str) -> Response:
        """A CA certificate in DER, as the AIA caIssuers URL promises (RFC 5280 4.2.2.1)."""
        cert = platform.ca_certificate(name)
        return Response(cert.public_bytes(serialization.Encoding.DER), media_type=PKIX_CERT)

    @app.get("/crl/{name}.crl", tags=["pki"])
    def crl(name: str) -> Response:
        """The current CRL (RFC 5280 section 5), regenerated on every revocation."""
        der = platform.crl(name)
        return Response(der, media_type=PKIX_CRL, headers={"Cache-Control": "max-age=60"})

    @app.post("/ocsp", tags=["pki"])
    async def ocsp_post(request: Request) -> Response:
        """OCSP over HTTP POST (RFC 6960 appendix A.1)."""
        return Response(platform.ocsp(await request.body()), media_type=OCSP_RESPONSE)

    @app.get("/ocsp/{encoded:path}", tags=["pki"])
    def ocsp_get(encoded: str) -> Response:
        """OCSP over HTTP GET: the DER request, base64 then URL-encoded (RFC 6960 A.1)."""
        try:
            der = base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=False)
        except (binascii.Error, ValueError):
            der = b""
        return Response(platform.ocsp(der), media_type=OCSP_RESPONSE)

    @app.get("/health", tags=["protocol"])
    def health() -> JSONResponse:
        return JSONResponse(
            {"status": "ok", "environment": platform.settings.environment, "version": __version__}
        )

    @app.get("/", include_in_schema=False)
    def index() -> JSONResponse:
        return JSONResponse(
            {
                "service": "ehcert platform",
                "environment": platform.settings.environment,
                "openapi": "/openapi.json",
                "docs": "/docs",
                "nonce": "/v1/nonce",
            }
        )

    app.include_router(sts_router(platform))
    return app

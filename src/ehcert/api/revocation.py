"""Revocation status and the CA certificates over HTTP: CRLs, OCSP, AIA caIssuers.

All public and unauthenticated. CRLs (RFC 5280 section 5) and OCSP answers (RFC 6960)
are signed and cached by the platform's revocation server (``platform.revocation``);
this module only carries them. The CA certificates are what relying parties anchor on,
read at each request, so a certificate the CA renews while running is published at once.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from ehcert.api.openapi import binary_answer, binary_body
from ehcert.api.schemas import CaCertificates, pem_text
from ehcert.core.errors import EhcertError, ErrorKind

OCSP_REQUEST = "application/ocsp-request"
OCSP_RESPONSE = "application/ocsp-response"
PKIX_CRL = "application/pkix-crl"
PKIX_CERT = "application/pkix-cert"


class RevocationAnswers(Protocol):
    def crl(self, name: str) -> bytes:
        """The current DER CRL named ``<env>``, ``<env>-root``, ``<env>-eid``, ... ."""
        ...

    def ocsp(self, request_der: bytes) -> bytes:
        """A DER OCSP response to a DER request (RFC 6960), unsuccessful ones included."""
        ...

    def kept_ocsp(self, request_der: bytes) -> bytes | None:
        """The answer kept for these exact request bytes, if it still holds (no signing,
        no query: ``platform.kept_ocsp``); None otherwise."""
        ...


@dataclass(frozen=True, slots=True)
class PublishedCas:
    """The CA certificates this environment publishes, and nothing of their keys.

    The OCSP responder's certificate is short-lived and renewed while the platform runs,
    so it is read at each request; the others change only in an operator's ceremony.
    """

    environment: str
    root: x509.Certificate
    issuing: x509.Certificate
    etk_depot: x509.Certificate
    eid_root: x509.Certificate | None
    eid_ca: x509.Certificate | None
    eid_anchors: Sequence[x509.Certificate]
    ocsp_signer: Callable[[], x509.Certificate]

    def named(self, name: str) -> x509.Certificate:
        """``<env>-root``, ``<env>-issuing``, ``<env>-eid-root``, ``<env>-eid-ca``."""
        env = self.environment
        named = {f"{env}-root": self.root, f"{env}-issuing": self.issuing}
        if self.eid_root is not None and self.eid_ca is not None:
            named[f"{env}-eid-root"] = self.eid_root
            named[f"{env}-eid-ca"] = self.eid_ca
        certificate = named.get(name)
        if certificate is None:
            raise EhcertError(ErrorKind.NOT_FOUND, f"No CA certificate named {name}.")
        return certificate


@dataclass(frozen=True, slots=True)
class RevocationPorts:
    answers: RevocationAnswers
    certificates: PublishedCas


def ca_certificates_answer(published: PublishedCas) -> CaCertificates:
    return CaCertificates(
        environment=published.environment,
        root=pem_text(published.root),
        issuing=pem_text(published.issuing),
        ocsp_signer=pem_text(published.ocsp_signer()),
        etk_depot=pem_text(published.etk_depot),
        eid_anchors=[pem_text(cert) for cert in published.eid_anchors],
    )


def ocsp_get_request(encoded: str) -> bytes:
    """The DER request of an OCSP GET path, or ``b""`` (answered ``malformedRequest``).

    Standard base64 with its padding (RFC 6960 appendix A.1), URL-decoded already by the
    router; the URL-safe alphabet some clients use is accepted too. Anything else in the
    path (spaces, junk, missing padding) is not silently dropped but makes the request
    malformed.
    """
    text = encoded.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return b""


def revocation_router(ports: RevocationPorts) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/ca", response_model=CaCertificates, tags=["pki"])
    def ca_certificates() -> CaCertificates:
        """The CA certificates of this environment, PEM."""
        return ca_certificates_answer(ports.certificates)

    @router.get(
        "/ca/{name}.crt",
        tags=["pki"],
        response_class=Response,
        responses=binary_answer(PKIX_CERT, "The CA certificate, DER."),
    )
    def ca_certificate(name: str) -> Response:
        """A CA certificate in DER, as the AIA caIssuers URL promises (RFC 5280 4.2.2.1)."""
        cert = ports.certificates.named(name)
        return Response(cert.public_bytes(serialization.Encoding.DER), media_type=PKIX_CERT)

    @router.get(
        "/crl/{name}.crl",
        tags=["pki"],
        response_class=Response,
        responses=binary_answer(PKIX_CRL, "The CRL, DER."),
    )
    def crl(name: str) -> Response:
        """The current CRL (RFC 5280 section 5), regenerated on every revocation."""
        der = ports.answers.crl(name)
        return Response(der, media_type=PKIX_CRL, headers={"Cache-Control": "max-age=60"})

    @router.post(
        "/ocsp",
        tags=["pki"],
        response_class=Response,
        responses=binary_answer(OCSP_RESPONSE, "An OCSPResponse, successful or not."),
        openapi_extra=binary_body(OCSP_REQUEST, "A DER OCSPRequest (RFC 6960 4.1.1)."),
    )
    async def ocsp_post(request: Request) -> Response:
        """OCSP over HTTP POST (RFC 6960 appendix A.1)."""
        body = await request.body()
        answer = await run_in_threadpool(ports.answers.ocsp, body)  # signs, reads the store
        return Response(answer, media_type=OCSP_RESPONSE)

    @router.get(
        "/ocsp/{encoded:path}",
        tags=["pki"],
        response_class=Response,
        responses=binary_answer(OCSP_RESPONSE, "An OCSPResponse, successful or not."),
    )
    def ocsp_get(encoded: str) -> Response:
        """OCSP over HTTP GET: the DER request, base64 then URL-encoded (RFC 6960 A.1)."""
        return Response(ports.answers.ocsp(ocsp_get_request(encoded)), media_type=OCSP_RESPONSE)

    return router

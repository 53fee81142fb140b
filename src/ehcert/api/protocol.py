"""The protocol's own routes: nonces (RFC 8555 section 7.2), health and the index.

A nonce is issued here and spent by the signed request that carries it
(``api.authentication``); every answer to a signed request brings a fresh one in
``Replay-Nonce`` so a client can chain requests without asking again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from ehcert import __version__
from ehcert.api.schemas import NonceAnswer

NonceIssuer = Callable[[], str]


def nonce_headers(new_nonce: NonceIssuer) -> dict[str, str]:
    """A fresh nonce for the client's next signed request; never cached."""
    return {"Replay-Nonce": new_nonce(), "Cache-Control": "no-store"}


@dataclass(frozen=True, slots=True)
class ProtocolPorts:
    new_nonce: NonceIssuer
    environment: str
    default_key_type: str = "rsa-2048"


def nonce_router(ports: ProtocolPorts) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/nonce", response_model=NonceAnswer, tags=["protocol"])
    def get_nonce(response: Response) -> NonceAnswer:
        """A fresh single-use nonce (RFC 8555 section 7.2), also in ``Replay-Nonce``."""
        headers = nonce_headers(ports.new_nonce)
        response.headers.update(headers)
        return NonceAnswer(nonce=headers["Replay-Nonce"])

    return router


def service_router(ports: ProtocolPorts) -> APIRouter:
    router = APIRouter()

    @router.get("/health", tags=["protocol"])
    def health() -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "environment": ports.environment,
                "version": __version__,
                # What a holder's request generates unless told otherwise (settings.py).
                "default_key_type": ports.default_key_type,
            }
        )

    @router.get("/", include_in_schema=False)
    def index() -> JSONResponse:
        return JSONResponse(
            {
                "service": "ehcert platform",
                "environment": ports.environment,
                "openapi": "/openapi.json",
                "docs": "/docs",
                "nonce": "/v1/nonce",
            }
        )

    return router

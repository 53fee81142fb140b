"""The protocol's own routes: nonces (RFC 8555 section 7.2), health and the index.

A nonce is issued here and spent by the signed request that carries it
(``api.authentication``); every answer to a signed request brings a fresh one in
``Replay-Nonce`` so a client can chain requests without asking again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ehcert import __version__
from ehcert.api.limits import TokenBuckets
from ehcert.api.problems import problem_response
from ehcert.api.schemas import NonceAnswer
from ehcert.core.errors import ErrorKind

NonceIssuer = Callable[[], str]


def nonce_headers(new_nonce: NonceIssuer) -> dict[str, str]:
    """A fresh nonce for the client's next signed request; never cached."""
    return {"Replay-Nonce": new_nonce(), "Cache-Control": "no-store"}


def health_answer(environment: str, default_key_type: str) -> JSONResponse:
    """``GET /health``: always the same bytes (``api.lean_paths`` sends them unrouted),
    with the key type a holder's request generates unless told otherwise (settings.py)."""
    return JSONResponse(
        {
            "status": "ok",
            "environment": environment,
            "version": __version__,
            "default_key_type": default_key_type,
        }
    )


@dataclass(frozen=True, slots=True)
class ProtocolPorts:
    new_nonce: NonceIssuer
    environment: str
    nonce_limit: TokenBuckets | None = None  # per client; None: no limit
    default_key_type: str = "rsa-2048"


def nonce_router(ports: ProtocolPorts) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/nonce",
        response_model=NonceAnswer,
        tags=["protocol"],
        responses={429: {"description": "Too many nonces asked by this client."}},
    )
    def get_nonce(request: Request, response: Response) -> Response | NonceAnswer:
        """A fresh single-use nonce (RFC 8555 section 7.2), also in ``Replay-Nonce``.

        Limited per client address (:class:`~ehcert.api.limits.TokenBuckets`): a client
        asking faster than the limit gets 429 with ``Retry-After`` and no nonce, so it
        cannot fill the nonce table and slow everyone's signed requests.
        """
        if ports.nonce_limit is not None:
            client = request.client.host if request.client else "unknown"
            wait = ports.nonce_limit.take(client)
            if wait > 0:
                return problem_response(
                    ErrorKind.RATE_LIMITED,
                    f"Too many nonces asked from {client}; retry in {math.ceil(wait)} s.",
                    headers={"Retry-After": str(math.ceil(wait)), "Cache-Control": "no-store"},
                )
        headers = nonce_headers(ports.new_nonce)
        response.headers.update(headers)
        return NonceAnswer(nonce=headers["Replay-Nonce"])

    return router


def service_router(ports: ProtocolPorts) -> APIRouter:
    router = APIRouter()

    @router.get("/health", tags=["protocol"])
    def health() -> JSONResponse:
        return health_answer(ports.environment, ports.default_key_type)

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

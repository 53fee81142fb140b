"""The platform's HTTP API (FastAPI): the edge, one router per context.

No business rule lives here (DESIGN.md). Each router turns HTTP into calls on the one
narrow interface it is given and the answers back into JSON; signed requests are
authenticated by ``api.authentication`` before any service sees them; errors become RFC
9457 problem documents in ``api.problems``. The contract is in ``docs/http-api.md``.

- ``api.protocol``: nonces, health, the index;
- ``api.ra``: certificates (request, renew, revoke, status) and the certra queries;
- ``api.etk``: the ETK depot's registration and lookup;
- ``api.revocation``: CA certificates, CRLs and OCSP;
- ``api.sts``: the security token service.

The wiring (``platform.root``) builds :class:`EdgePorts` once, at start; no router
receives more than its own part of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError

from ehcert import __version__
from ehcert.api.etk import EtkPorts, etk_router
from ehcert.api.limits import BodySizeLimit
from ehcert.api.metrics import PlatformMetrics
from ehcert.api.observability import RequestObservation
from ehcert.api.problems import ehcert_error_handler, validation_error_handler
from ehcert.api.protocol import ProtocolPorts, nonce_router, service_router
from ehcert.api.ra import RaPorts, ra_router
from ehcert.api.revocation import RevocationPorts, revocation_router
from ehcert.api.sts import StsPorts, sts_router
from ehcert.core.errors import EhcertError


@dataclass(frozen=True, slots=True)
class EdgePorts:
    """Per router, the narrow interface it uses; the request body limit; the metrics."""

    max_body_bytes: int
    protocol: ProtocolPorts
    ra: RaPorts
    etk: EtkPorts
    revocation: RevocationPorts
    sts: StsPorts
    metrics: PlatformMetrics


def create_app(ports: EdgePorts) -> FastAPI:
    app = FastAPI(
        title="ehcert platform",
        version=__version__,
        description="eHealth certificates for care providers and institutions.",
    )
    # A bad-nonce problem carries a fresh nonce for the retry (api.problems).
    app.state.new_nonce = ports.protocol.new_nonce
    app.add_middleware(BodySizeLimit, limit=ports.max_body_bytes)
    app.add_exception_handler(EhcertError, ehcert_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.include_router(nonce_router(ports.protocol))
    app.include_router(ra_router(ports.ra))
    app.include_router(etk_router(ports.etk))
    app.include_router(revocation_router(ports.revocation))
    app.include_router(service_router(ports.protocol))
    app.include_router(sts_router(ports.sts))
    _observe(app, ports.metrics)
    return app


def _observe(app: FastAPI, metrics: PlatformMetrics) -> None:
    """Request ids, latency and refusals around everything (added last: outermost of the
    application's middleware), and ``GET /metrics`` (``api.metrics``)."""
    app.add_middleware(RequestObservation, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    def metrics_exposition(request: Request) -> Response:
        del request
        body, media_type = metrics.exposition()
        return Response(body, media_type=media_type)

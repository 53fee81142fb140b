"""The platform's HTTP API (FastAPI): the edge, one router per context.

No business rule lives here (DESIGN.md). Each router turns HTTP into calls on the one
narrow interface it is given and the answers back into JSON; signed requests are
authenticated by ``api.authentication`` before any service sees them; errors become RFC
9457 problem documents in ``api.problems``. The contract is in ``docs/http-api.md``.

- ``api.protocol``: nonces, health, the index;
- ``api.ra``: certificates (request, renew, revoke, status) and the certra queries;
- ``api.etk``: the ETK depot's registration and lookup;
- ``api.revocation``: CA certificates, CRLs and OCSP;
- ``api.sts``: the security token service;
- ``api.trust_list``: the signed trust list (ETSI TS 119 612).
- ``api.ehbox``: the eHealthBox (its sends stream past the body limit, up to their own).
- ``api.office`` and ``api.digital_key``: the hybrid method (registration offices issue
  digital keys; a digital key stands in for the eID).
- ``api.integrators``: software integrators' enrolment, test identities and test
  certificates; included on an acceptance platform only (production has no such path:
  its routes answer 404 there, as any unknown path does).

The wiring (``platform.root``) builds :class:`EdgePorts` once, at start; no router
receives more than its own part of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from ehcert import __version__
from ehcert.api import openapi
from ehcert.api.digital_key import DigitalKeyPorts, digital_key_router
from ehcert.api.ehbox import SEND_PATH, EhboxPorts, ehbox_router
from ehcert.api.etk import EtkPorts, etk_router, render_lookup
from ehcert.api.front import FRONT_STATE, FrontPorts
from ehcert.api.integrators import IntegratorPorts, integrator_router
from ehcert.api.lean_paths import LeanPaths, LeanPorts
from ehcert.api.limits import BodySizeLimit
from ehcert.api.metrics import PlatformMetrics
from ehcert.api.observability import RequestObservation
from ehcert.api.office import OfficePorts, office_router
from ehcert.api.problems import (
    RefusalAudit,
    UnexpectedErrors,
    ehcert_error_handler,
    http_error_handler,
    validation_error_handler,
)
from ehcert.api.protocol import ProtocolPorts, health_answer, nonce_router, service_router
from ehcert.api.ra import RaPorts, ra_router
from ehcert.api.revocation import RevocationPorts, revocation_router
from ehcert.api.sts import StsPorts, sts_router
from ehcert.api.trust_list import TrustListPorts, trust_list_router
from ehcert.core.errors import EhcertError


@dataclass(frozen=True, slots=True)
class EdgePorts:
    """Per router, the narrow interface it uses; the request body limit; where the edge
    records the refusals no service saw (``api.problems``); and the metrics."""

    max_body_bytes: int
    audit_refusal: RefusalAudit
    protocol: ProtocolPorts
    ra: RaPorts
    etk: EtkPorts
    revocation: RevocationPorts
    sts: StsPorts
    trust_list: TrustListPorts
    ehbox: EhboxPorts
    office: OfficePorts
    digital_key: DigitalKeyPorts
    metrics: PlatformMetrics
    integrator: IntegratorPorts | None = None  # acceptance only (``api.integrators``)


SWAGGER_STATIC = "/docs/static"


def serve_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the files of the ``swagger-ui-bundle`` package.

    The platform's own pages must work without the internet (and must not make an
    operator's browser fetch scripts from a third party), so the scripts and styles are
    served from here, never from a CDN. ReDoc ships in no Python or Debian package, so
    ``/redoc`` is not offered.
    """
    import swagger_ui_bundle  # type: ignore[import-untyped]

    app.mount(
        SWAGGER_STATIC,
        StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
        name="swagger-ui",
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url=f"{SWAGGER_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_STATIC}/favicon-32x32.png",
            # No badge from the public validator service: nothing leaves the platform.
            swagger_ui_parameters={"validatorUrl": None},
        )


def create_app(ports: EdgePorts) -> FastAPI:
    etk = ports.etk
    lean = LeanPorts(
        health=bytes(
            health_answer(ports.protocol.environment, ports.protocol.default_key_type).body
        ),
        kept_ocsp=ports.revocation.answers.kept_ocsp,
        kept_etk=lambda ids: etk.depot.kept_lookup(ids, etk.now(), render_lookup),
    )
    front = FrontPorts(lean.health, lean.kept_ocsp, lean.kept_etk, ports.metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, FrontPorts]]:
        """The kept answers, for the connection front a server runs (``api.front``)."""
        del app
        yield {FRONT_STATE: front}

    app = FastAPI(
        lifespan=lifespan,
        title="ehcert platform",
        version=__version__,
        description="eHealth certificates for care providers and institutions.",
        docs_url=None,
        redoc_url=None,
    )
    serve_docs(app)
    openapi.install(app)
    # A bad-nonce problem carries a fresh nonce for the retry (api.problems).
    app.state.new_nonce = ports.protocol.new_nonce
    app.state.audit_refusal = ports.audit_refusal
    app.add_middleware(
        BodySizeLimit,
        limit=ports.max_body_bytes,
        larger={SEND_PATH: ports.ehbox.max_message_bytes + 2 * 1024 * 1024},
    )
    # Kept answers leave before routing (api.lean_paths); the rest goes on.
    app.add_middleware(LeanPaths, ports=lean)
    app.add_middleware(UnexpectedErrors)  # added last: the outermost, around everything
    app.add_exception_handler(EhcertError, ehcert_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(HTTPException, http_error_handler)
    app.include_router(nonce_router(ports.protocol))
    app.include_router(ra_router(ports.ra))
    app.include_router(etk_router(ports.etk))
    app.include_router(revocation_router(ports.revocation))
    app.include_router(service_router(ports.protocol))
    app.include_router(sts_router(ports.sts))
    app.include_router(trust_list_router(ports.trust_list))
    app.include_router(ehbox_router(ports.ehbox))
    app.include_router(office_router(ports.office))
    app.include_router(digital_key_router(ports.digital_key))
    if ports.integrator is not None:
        app.include_router(integrator_router(ports.integrator))
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

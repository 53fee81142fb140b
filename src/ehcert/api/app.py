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
- ``api.ehbox``: the eHealthBox (its sends stream past the body limit, up to their own).

The wiring (``platform.root``) builds :class:`EdgePorts` once, at start; no router
receives more than its own part of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from ehcert import __version__
from ehcert.api.ehbox import SEND_PATH, EhboxPorts, ehbox_router
from ehcert.api.etk import EtkPorts, etk_router
from ehcert.api.limits import BodySizeLimit
from ehcert.api.problems import ehcert_error_handler, validation_error_handler
from ehcert.api.protocol import ProtocolPorts, nonce_router, service_router
from ehcert.api.ra import RaPorts, ra_router
from ehcert.api.revocation import RevocationPorts, revocation_router
from ehcert.api.sts import StsPorts, sts_router
from ehcert.core.errors import EhcertError


@dataclass(frozen=True, slots=True)
class EdgePorts:
    """Per router, the narrow interface it uses; and the request body limit."""

    max_body_bytes: int
    protocol: ProtocolPorts
    ra: RaPorts
    etk: EtkPorts
    revocation: RevocationPorts
    sts: StsPorts
    ehbox: EhboxPorts


def create_app(ports: EdgePorts) -> FastAPI:
    app = FastAPI(
        title="ehcert platform",
        version=__version__,
        description="eHealth certificates for care providers and institutions.",
    )
    # A bad-nonce problem carries a fresh nonce for the retry (api.problems).
    app.state.new_nonce = ports.protocol.new_nonce
    app.add_middleware(
        BodySizeLimit,
        limit=ports.max_body_bytes,
        larger={SEND_PATH: ports.ehbox.max_message_bytes + 2 * 1024 * 1024},
    )
    app.add_exception_handler(EhcertError, ehcert_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.include_router(nonce_router(ports.protocol))
    app.include_router(ra_router(ports.ra))
    app.include_router(etk_router(ports.etk))
    app.include_router(revocation_router(ports.revocation))
    app.include_router(service_router(ports.protocol))
    app.include_router(sts_router(ports.sts))
    app.include_router(ehbox_router(ports.ehbox))
    return app

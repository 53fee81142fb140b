"""The trust list over HTTP: the newest one at a stable URL, and every earlier one by number.

``GET /v1/trust-list.xml`` answers the newest signed ETSI TS 119 612 list
(``ca.trust_list``: made first when the certificates changed or ``NextUpdate`` nears);
``GET /v1/trust-lists/{n}.xml`` answers list number ``n`` as it was published, so a
client that missed some follows each signer rotation in turn
(``client.trust_store``). Both are public and unauthenticated: the XAdES signature is
what a client trusts, not the connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Response

from ehcert.api.openapi import binary_answer
from ehcert.core.errors import EhcertError, ErrorKind

TRUST_LIST_MEDIA_TYPE = "application/vnd.etsi.tsl+xml"
"""The media type of TS 119 612 Annex D, used by the EU member states' lists."""


@dataclass(frozen=True, slots=True)
class TrustListPorts:
    current: Callable[[], bytes]
    numbered: Callable[[int], bytes]


def trust_list_router(ports: TrustListPorts) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/trust-list.xml",
        tags=["pki"],
        response_class=Response,
        responses=binary_answer(TRUST_LIST_MEDIA_TYPE, "The current signed trust list."),
    )
    def trust_list() -> Response:
        """The newest signed trust list of this environment (ETSI TS 119 612)."""
        return Response(
            ports.current(),
            media_type=TRUST_LIST_MEDIA_TYPE,
            headers={"Cache-Control": "max-age=60"},
        )

    @router.get(
        "/v1/trust-lists/{sequence}.xml",
        tags=["pki"],
        response_class=Response,
        responses=binary_answer(TRUST_LIST_MEDIA_TYPE, "The trust list of that number."),
    )
    def numbered_trust_list(sequence: str) -> Response:
        """Trust list number ``sequence`` (its TSLSequenceNumber), as it was published."""
        if not sequence.isdigit() or int(sequence) < 1:
            raise EhcertError(
                ErrorKind.MALFORMED,
                f"A trust list number is a positive integer, not {sequence!r}.",
                field="sequence",
            )
        return Response(ports.numbered(int(sequence)), media_type=TRUST_LIST_MEDIA_TYPE)

    return router

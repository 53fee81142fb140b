"""The ETK depot over HTTP: registration in two signed requests, and GetEtk lookups.

Registration is signed by the holder's new authentication certificate
(``etkdepot.registration``); the lookup is public and cacheable, with a strong ETag
over the answer and ``If-None-Match`` revalidation (RFC 9110 sections 8.8.3, 13.1.2).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import APIRouter, Query, Request, Response

from ehcert.api.authentication import SignedRequests
from ehcert.api.fields import b64url, b64url_field, only_fields, text_field
from ehcert.api.openapi import SIGNED_BODY
from ehcert.api.protocol import NonceIssuer, nonce_headers
from ehcert.api.schemas import (
    EtkChallengeAnswer,
    EtkDescription,
    EtkLookupAnswer,
    etk_lookup_answer,
    etk_published_answer,
)
from ehcert.core.identity import Identity
from ehcert.etkdepot.lookup import EtkAnswer
from ehcert.etkdepot.ports import EtkPublication
from ehcert.etkdepot.registration import IssuedChallenge


class EtkOperations(Protocol):
    """What the depot's routes call (``etkdepot.service.EtkDepot``)."""

    def challenge(
        self, identity: Identity, encryption_der: bytes, now: dt.datetime
    ) -> IssuedChallenge: ...

    def answer(
        self, identity: Identity, challenge_id: str, answer: bytes, now: dt.datetime
    ) -> EtkPublication: ...

    def lookup(self, identifiers: Sequence[str], now: dt.datetime) -> list[EtkAnswer]: ...

    def prepared_lookup(
        self,
        identifiers: Sequence[str],
        now: dt.datetime,
        prepare: Callable[[list[EtkAnswer]], RenderedLookup],
    ) -> RenderedLookup: ...

    def kept_lookup(
        self,
        identifiers: Sequence[str],
        now: dt.datetime,
        prepare: Callable[[list[EtkAnswer]], RenderedLookup],
    ) -> RenderedLookup | None: ...


@dataclass(frozen=True, slots=True)
class EtkPorts:
    depot: EtkOperations
    signed: SignedRequests
    new_nonce: NonceIssuer
    now: Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class RenderedLookup:
    """A GetEtk answer ready to send: its JSON body and strong ETag."""

    body: bytes
    etag: str


def render_lookup(answers: list[EtkAnswer]) -> RenderedLookup:
    """The JSON body of ``answers`` and its ETag (a SHA-256 prefix: the same answer always
    gets the same tag, in every process)."""
    answer = etk_lookup_answer(answers)
    body = json.dumps(answer.model_dump(mode="json"), separators=(",", ":")).encode()
    return RenderedLookup(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 section 13.1.2: weak comparison, a list of tags or ``*``."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    tags = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return etag in tags


def etk_router(ports: EtkPorts) -> APIRouter:
    router = APIRouter()
    depot = ports.depot

    @router.post(
        "/v1/etk/challenges",
        status_code=201,
        response_model=EtkChallengeAnswer,
        tags=["etk"],
        openapi_extra=SIGNED_BODY,
    )
    async def etk_challenge(request: Request, response: Response) -> EtkChallengeAnswer:
        """ETK registration, step 1: a challenge encrypted to the encryption certificate.

        Payload: ``encryption_certificate`` (base64url DER).
        """
        identity, payload = await ports.signed(request)
        only_fields(payload, "encryption_certificate")
        encryption = b64url_field(payload, "encryption_certificate")
        issued = depot.challenge(identity, encryption, ports.now())
        response.headers.update(nonce_headers(ports.new_nonce))
        return EtkChallengeAnswer(
            challenge_id=issued.id,
            challenge=b64url(issued.encrypted_challenge),
            expires_at=issued.expires_at,
        )

    @router.post(
        "/v1/etk",
        status_code=201,
        response_model=EtkDescription,
        tags=["etk"],
        openapi_extra=SIGNED_BODY,
    )
    async def etk_register(request: Request, response: Response) -> EtkDescription:
        """ETK registration, step 2: the decrypted challenge; publishes the ETK.

        Payload: ``challenge_id`` and ``answer`` (base64url of the decrypted challenge).
        """
        identity, payload = await ports.signed(request)
        only_fields(payload, "challenge_id", "answer")
        publication = depot.answer(
            identity,
            text_field(payload, "challenge_id") or "",
            b64url_field(payload, "answer"),
            ports.now(),
        )
        response.headers.update(nonce_headers(ports.new_nonce))
        return etk_published_answer(publication)

    @router.get("/v1/etk", response_model=EtkLookupAnswer, tags=["etk"])
    def etk_lookup(
        request: Request,
        identifiers: Annotated[list[str], Query(alias="id")] = [],  # noqa: B006
    ) -> Response:
        """GetEtk: per identifier the current ETK, the matching identifiers, or an error.

        Public and cacheable: a strong ETag over the answer; ``If-None-Match`` gives 304.
        ``no-cache`` makes caches revalidate every time, so a revocation shows at once.
        The depot keeps each rendered answer until a recorded decision or time changes it
        (``etkdepot.prepared``): a repeated lookup, or its 304, costs one database read.
        """
        rendered = depot.prepared_lookup(identifiers, ports.now(), render_lookup)
        headers = {"ETag": rendered.etag, "Cache-Control": "public, no-cache", "Vary": "Accept"}
        if etag_matches(request.headers.get("If-None-Match"), rendered.etag):
            return Response(status_code=304, headers=headers)
        return Response(rendered.body, media_type="application/json", headers=headers)

    return router

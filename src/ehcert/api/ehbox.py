"""The eHealthBox over HTTP (``/ehbox/v3/...``), holder-of-key and streamed.

Every route is a POST whose body is the platform's signed request (a JWS over a fresh
nonce and the exact URL, ``api.authentication``; ACME's POST-as-GET for reads, RFC 8555
section 6.3) signed with the caller's eHealth key, and whose payload carries the STS
assertion bound to that key (``assertion``), checked by :func:`ehcert.ehbox.access.
check_assertion`. The operations and their JSON follow the ehBox v3 WSDLs (``docs/
http-api.md``).

A send (``POST /ehbox/v3/messages``) and a full message (``POST /ehbox/v3/messages/
full``) carry sealed parts after their JSON, framed as ``application/vnd.ehcert.
ehbox-parts``: the JSON's length in ASCII digits and a line feed, the JSON (for a send,
the JWS), then each part's bytes in the order and at the sizes the JSON lists. The parts
stream between the socket and the store chunk by chunk (``store.ehbox``), so the server
holds a small multiple of a chunk, never a part. The JSON alone is bounded by the JWS
limit (``pki.jws.MAX_DOCUMENT_SIZE``).

A send to a recipient who is out of office is answered 409 with the problem type
``urn:ehcert:problem:recipient-out-of-office`` and a ``recipients`` member naming each
absent recipient, the period and the substitutes: nothing was sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.from_thread
from cryptography import x509
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from ehcert.api.authentication import SignedRequests
from ehcert.api.ehbox_answers import (
    absence_answer,
    full_message_answer,
    listing_answer,
    recipient_row,
    sent_answer,
)
from ehcert.api.ehbox_framing import PARTS_MEDIA_TYPE, StreamedBody, framed
from ehcert.api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_PREFIX
from ehcert.api.protocol import NonceIssuer, nonce_headers
from ehcert.core.errors import EhcertError
from ehcert.core.identity import Identity
from ehcert.ehbox.access import check_assertion, decode_assertion
from ehcert.ehbox.mailbox import Absence, RecipientsOutOfOffice
from ehcert.ehbox.model import (
    BoxId,
    Folder,
    Page,
    Publication,
    check_message_id,
    malformed,
    parse_message_ids,
    parse_publication,
)
from ehcert.ehbox.records import BoxInfo, FullMessage, Listing, PartView, RecipientView, SentMessage
from ehcert.pki.environments import EnvironmentCheck

PREFIX = "/ehbox/v3"
SEND_PATH = f"{PREFIX}/messages"


class PartSource(Protocol):
    def read(self, size: int) -> bytes: ...


class EhboxOperations(Protocol):
    """What the routes call (``ehbox.service.EhboxService``)."""

    def send(
        self, identity: Identity, publication: Publication, source: PartSource, now: dt.datetime
    ) -> SentMessage: ...

    def list_messages(
        self,
        identity: Identity,
        requested: BoxId | None,
        folder: Folder,
        page: Page,
        now: dt.datetime,
        *,
        all_boxes: bool = False,
    ) -> Listing: ...

    def full_message(
        self,
        identity: Identity,
        requested: BoxId | None,
        folder: Folder,
        message_id: str,
        now: dt.datetime,
    ) -> FullMessage: ...

    def part_chunks(self, part: PartView) -> Iterator[bytes]: ...

    def history(
        self,
        identity: Identity,
        requested: BoxId | None,
        folder: Folder,
        message_id: str,
        now: dt.datetime,
    ) -> list[str]: ...

    def acknowledgments(
        self,
        identity: Identity,
        requested: BoxId | None,
        message_id: str,
        page: Page,
        now: dt.datetime,
    ) -> tuple[int, list[RecipientView]]: ...

    def box_info(
        self, identity: Identity, requested: BoxId | None, now: dt.datetime
    ) -> BoxInfo: ...

    def boxes(self, identity: Identity, now: dt.datetime) -> list[BoxId]: ...

    def move(
        self,
        identity: Identity,
        requested: BoxId | None,
        *,
        source: Folder,
        destination: Folder,
        message_ids: Sequence[str],
        now: dt.datetime,
    ) -> list[str]: ...

    def delete(
        self,
        identity: Identity,
        requested: BoxId | None,
        source: Folder,
        message_ids: Sequence[str],
        now: dt.datetime,
    ) -> list[str]: ...

    def insert_absence(
        self,
        identity: Identity,
        requested: BoxId | None,
        *,
        start: dt.date,
        end: dt.date,
        substitutes: Sequence[BoxId],
        now: dt.datetime,
    ) -> Absence: ...

    def absences(
        self, identity: Identity, requested: BoxId | None, now: dt.datetime
    ) -> list[Absence]: ...

    def delete_absences(
        self, identity: Identity, requested: BoxId | None, ids: Sequence[str], now: dt.datetime
    ) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class EhboxPorts:
    mailbox: EhboxOperations
    signed: SignedRequests
    new_nonce: NonceIssuer
    now: Callable[[], dt.datetime]
    sts_certificate: Callable[[], x509.Certificate]
    sts_issuer: str
    environments: EnvironmentCheck
    max_recipients: int
    max_message_bytes: int


def _box(payload: dict[str, Any]) -> BoxId | None:
    value = payload.get("box")
    return None if value is None else BoxId.parse(value, "box")


def _date(payload: dict[str, Any], name: str) -> dt.date:
    value = payload.get(name)
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else dt.date.fromisoformat("")
    except ValueError:
        raise malformed(name, f"Field {name} must be a date written YYYY-MM-DD.") from None


def out_of_office_response(error: RecipientsOutOfOffice, nonce: str) -> JSONResponse:
    body = {
        "type": PROBLEM_TYPE_PREFIX + "recipient-out-of-office",
        "title": "Recipient out of office",
        "status": 409,
        "detail": error.detail,
        "field": error.field,
        "recipients": [absent.to_dict() for absent in error.absent],
    }
    return JSONResponse(
        body, status_code=409, media_type=PROBLEM_MEDIA_TYPE, headers={"Replay-Nonce": nonce}
    )


class _Edge:
    """What every route shares: the holder-of-key authentication and the answer."""

    def __init__(self, ports: EhboxPorts) -> None:
        self.ports = ports
        self.mailbox = ports.mailbox

    def authenticate(self, body: bytes, path: str) -> tuple[Identity, dict[str, Any]]:
        ports = self.ports
        verified = ports.signed.verify(body, path)
        identity, payload = ports.signed.identify(verified)
        check_assertion(
            decode_assertion(payload.pop("assertion", None)),
            sts_certificate=ports.sts_certificate(),
            issuer=ports.sts_issuer,
            request_certificate=verified.chain[0],
            now=ports.now(),
            environments=ports.environments,
        )
        return identity, payload

    def answer(self, content: object, status: int = 200) -> JSONResponse:
        return JSONResponse(
            content, status_code=status, headers=nonce_headers(self.ports.new_nonce)
        )

    async def signed(self, request: Request) -> tuple[Identity, dict[str, Any]]:
        body = await request.body()
        return await run_in_threadpool(self.authenticate, body, request.url.path)


def ehbox_router(ports: EhboxPorts) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["ehbox"])
    edge = _Edge(ports)
    _publication_routes(router, edge)
    _consultation_routes(router, edge)
    _change_routes(router, edge)
    _out_of_office_routes(router, edge)
    return router


def _publication_routes(router: APIRouter, edge: _Edge) -> None:
    ports, mailbox, answer = edge.ports, edge.mailbox, edge.answer

    @router.post("/messages")
    async def send_message(request: Request) -> Response:
        """``sendMessage``: the signed publication, then its sealed parts (module doc)."""
        stream = request.stream().__aiter__()

        async def next_piece() -> bytes:
            return await stream.__anext__()

        def pull() -> bytes:
            try:
                return anyio.from_thread.run(next_piece)
            except (StopAsyncIteration, ClientDisconnect):
                # A body cut short is refused by the send (a part ends early): rolled back.
                return b""

        body = StreamedBody(pull)

        def work() -> SentMessage:
            try:
                identity, payload = edge.authenticate(body.read_head(), SEND_PATH)
                publication = parse_publication(payload, max_recipients=ports.max_recipients)
                return mailbox.send(identity, publication, body, ports.now())
            except EhcertError:
                body.drain(ports.max_message_bytes)
                raise

        try:
            sent = await run_in_threadpool(work)
        except RecipientsOutOfOffice as absent:
            return out_of_office_response(absent, ports.new_nonce())
        return answer(sent_answer(sent), 201)


def _consultation_routes(router: APIRouter, edge: _Edge) -> None:
    ports, mailbox, answer, signed = edge.ports, edge.mailbox, edge.answer, edge.signed

    @router.post("/messages/list")
    async def messages_list(request: Request) -> Response:
        """``getMessagesList``: one box's folder, paged."""
        identity, payload = await signed(request)
        listing = await run_in_threadpool(
            mailbox.list_messages,
            identity,
            _box(payload),
            Folder.parse(payload.get("source", "INBOX")),
            Page.parse(payload),
            ports.now(),
        )
        return answer(listing_answer(listing))

    @router.post("/messages/all")
    async def all_messages_list(request: Request) -> Response:
        """``getAllEhboxesMessagesList``: the folder of every box the caller may use."""
        identity, payload = await signed(request)
        folder, page, now = (
            Folder.parse(payload.get("source", "INBOX")),
            Page.parse(payload),
            ports.now(),
        )

        def work() -> Listing:
            return mailbox.list_messages(identity, None, folder, page, now, all_boxes=True)

        return answer(listing_answer(await run_in_threadpool(work)))

    @router.post("/messages/full")
    async def full_message(request: Request) -> Response:
        """``getFullMessage``: the message's JSON, then its sealed parts (module doc)."""
        identity, payload = await signed(request)
        full = await run_in_threadpool(
            mailbox.full_message,
            identity,
            _box(payload),
            Folder.parse(payload.get("source", "INBOX")),
            check_message_id(payload.get("message_id")),
            ports.now(),
        )
        return StreamingResponse(
            framed(full_message_answer(full), full.parts, mailbox.part_chunks),
            media_type=PARTS_MEDIA_TYPE,
            headers=nonce_headers(ports.new_nonce),
        )

    @router.post("/messages/history")
    async def message_history(request: Request) -> Response:
        """``getMessageHistory``: the ids of the messages of the same publication."""
        identity, payload = await signed(request)
        ids = await run_in_threadpool(
            mailbox.history,
            identity,
            _box(payload),
            Folder.parse(payload.get("source", "INBOX")),
            check_message_id(payload.get("message_id")),
            ports.now(),
        )
        return answer({"message_ids": ids})

    @router.post("/messages/acknowledgments")
    async def acknowledgments(request: Request) -> Response:
        """``getMessageAcknowledgmentsStatus``: one row per recipient, paged."""
        identity, payload = await signed(request)
        page = Page.parse(payload)
        total, rows = await run_in_threadpool(
            mailbox.acknowledgments,
            identity,
            _box(payload),
            check_message_id(payload.get("message_id")),
            page,
            ports.now(),
        )
        return answer(
            {
                "total": total,
                "start_index": page.start,
                "end_index": page.end,
                "rows": [recipient_row(r) for r in rows],
            }
        )

    @router.post("/box-info")
    async def box_info(request: Request) -> Response:
        """``getBoxInfo``: current size, maximum size, messages waiting; and my boxes."""
        identity, payload = await signed(request)
        now = ports.now()
        info = await run_in_threadpool(mailbox.box_info, identity, _box(payload), now)
        boxes = await run_in_threadpool(mailbox.boxes, identity, now)
        return answer(
            {
                "box": str(info.box),
                "current_size": info.current_size,
                "max_size": info.max_size,
                "messages_waiting": info.waiting,
                "boxes": [str(b) for b in boxes],
            }
        )


def _change_routes(router: APIRouter, edge: _Edge) -> None:
    ports, mailbox, answer, signed = edge.ports, edge.mailbox, edge.answer, edge.signed

    @router.post("/messages/move")
    async def move_messages(request: Request) -> Response:
        """``moveMessage``: at most 100 ids, all or none."""
        identity, payload = await signed(request)
        source = Folder.parse(payload.get("source"), "source")
        destination = Folder.parse(payload.get("destination"), "destination")
        ids, now = parse_message_ids(payload), ports.now()

        def work() -> list[str]:
            return mailbox.move(
                identity,
                _box(payload),
                source=source,
                destination=destination,
                message_ids=ids,
                now=now,
            )

        return answer({"message_ids": await run_in_threadpool(work)})

    @router.post("/messages/delete")
    async def delete_messages(request: Request) -> Response:
        """``deleteMessage``: to the bin; from a bin, for good."""
        identity, payload = await signed(request)
        deleted = await run_in_threadpool(
            mailbox.delete,
            identity,
            _box(payload),
            Folder.parse(payload.get("source"), "source"),
            parse_message_ids(payload),
            ports.now(),
        )
        return answer({"message_ids": deleted})


def _out_of_office_routes(router: APIRouter, edge: _Edge) -> None:
    ports, mailbox, answer, signed = edge.ports, edge.mailbox, edge.answer, edge.signed

    @router.post("/ooo/insert")
    async def insert_ooo(request: Request) -> Response:
        """``insertOoO``: start date, end date, substitutes."""
        identity, payload = await signed(request)
        raw = payload.get("substitutes") or []
        if not isinstance(raw, list):
            raise malformed("substitutes", "Field substitutes must be a list of boxes.")
        substitutes = [BoxId.parse(s, f"substitutes[{i}]") for i, s in enumerate(raw)]
        start, end, now = _date(payload, "start_date"), _date(payload, "end_date"), ports.now()

        def work() -> Absence:
            return mailbox.insert_absence(
                identity, _box(payload), start=start, end=end, substitutes=substitutes, now=now
            )

        return answer(absence_answer(await run_in_threadpool(work)), 201)

    @router.post("/ooo/list")
    async def list_ooo(request: Request) -> Response:
        """``getOoOList``."""
        identity, payload = await signed(request)
        found = await run_in_threadpool(mailbox.absences, identity, _box(payload), ports.now())
        return answer({"ooo": [absence_answer(a) for a in found]})

    @router.post("/ooo/delete")
    async def delete_ooo(request: Request) -> Response:
        """``deleteOoO``: the named periods."""
        identity, payload = await signed(request)
        raw = payload.get("ooo_ids")
        if (
            not isinstance(raw, list)
            or not raw
            or not all(isinstance(i, str) and 0 < len(i) <= 13 for i in raw)
        ):
            raise malformed(
                "ooo_ids", "Field ooo_ids must list out-of-office ids of 1 to 13 characters."
            )
        deleted = await run_in_threadpool(
            mailbox.delete_absences, identity, _box(payload), raw, ports.now()
        )
        return answer({"ooo_ids": deleted})

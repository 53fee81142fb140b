"""The connection front: kept answers written straight to the socket, the rest to uvicorn.

Relying parties ask the OCSP responder and the ETK depot the same questions over and
over on kept-alive connections, and the platform holds those answers ready
(``platform.kept_ocsp``, ``etkdepot.prepared``). ``api.lean_paths`` already answers them
before FastAPI routes anything, but each request still costs uvicorn's request cycle
(a task, an ASGI scope, the middleware stack), several times what finding the answer
costs. This ``asyncio.Protocol`` sits in uvicorn's place on each new connection
(``uvicorn.Config(http=LeanFront)``) and answers the requests it can answer from memory
itself, with the same bytes and headers the routes would send.

It decides nothing and parses little. A request is answered here only when all hold:

- its head is plain HTTP/1.1: ``METHOD SP TARGET SP HTTP/1.1``, ``name: value`` lines,
  at most one ``Content-Length`` and no ``Transfer-Encoding``, ``Expect``, ``Upgrade``
  or ``Connection`` other than ``keep-alive`` (RFC 9112 sections 3, 5 and 6);
- it is ``GET /health``, ``GET /ocsp/{base64}``, ``POST /ocsp`` with a body of at most
  ``OCSP_MAX_BODY`` bytes, or ``GET /v1/etk?id=...``;
- its answer is kept and still holds (the keepers' own rules).

A request for one of those routes whose answer is not kept (a first OCSP question, a
nonce, an unknown identifier) is passed to the application as uvicorn would pass it (one
ASGI request, its whole body), and its answer written when it comes; the connection
stays here. At the first request that is anything else (a certificate request, a
mailbox upload, a malformed line), the connection is handed to uvicorn's own protocol
with every byte not yet answered, as uvicorn hands a connection to its WebSocket
protocol; from then on uvicorn and the application own it, so errors, limits and every
rule stay where they are written. A request is only ever answered whole, in order:
nothing is read while an earlier request on the connection is unanswered.

Answers sent here are counted in ``/metrics`` under their route as routed ones are, and
carry the request id (the client's ``X-Request-Id`` when sane); they are not written to
the access log one line each, which at these rates would cost more than the answers
(docs/operator-guide.md).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import parse_qsl, unquote_to_bytes

from prometheus_client import Histogram
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from ehcert.api.etk import RenderedLookup, etag_matches
from ehcert.api.lean_paths import OCSP_MAX_BODY, base64url_path
from ehcert.api.metrics import PlatformMetrics
from ehcert.api.observability import sane_request_id

FRONT_STATE = "ehcert.front"
"""The key of :class:`FrontPorts` in the application's lifespan state (``api.app``)."""

MAX_HEAD_BYTES = 8192
"""A request head longer than this goes to uvicorn, whose limits then apply."""

_OCSP_MEDIA = b"application/ocsp-response"
_JSON_MEDIA = b"application/json"
_ETK_HEADERS = b"cache-control: public, no-cache\r\nvary: Accept\r\n"
_STATUS = {200: b"HTTP/1.1 200 OK\r\n", 304: b"HTTP/1.1 304 Not Modified\r\n"}
_INTERNAL_ERROR = (
    b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 21\r\nconnection: close\r\n\r\nInternal Server Error"
)

logger = logging.getLogger("uvicorn.error")
access_logger = logging.getLogger("uvicorn.access")


@dataclass(frozen=True, slots=True)
class FrontPorts:
    """What the front may answer with: the health answer, the two kept-answer look-ups
    (None: not kept) and the metrics to count them in."""

    health: bytes
    kept_ocsp: Callable[[bytes], bytes | None]
    kept_etk: Callable[[Sequence[str]], RenderedLookup | None]
    metrics: PlatformMetrics
    latency_children: dict[tuple[str, bytes, int], Histogram] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Head:
    method: bytes
    target: bytes
    content_length: int
    if_none_match: bytes | None
    request_id: bytes | None
    fields: bytes  # the field lines as sent, each after its CRLF


class LeanFront(asyncio.Protocol):
    """One connection: kept answers here, everything else handed to uvicorn (module doc)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._config = config
        self._server_state = server_state
        self._app_state = app_state
        self._loop = _loop or asyncio.get_event_loop()
        ports = app_state.get(FRONT_STATE)
        self._ports = ports if isinstance(ports, FrontPorts) else None
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._reading = True
        self._idle_since = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None
        self._routing: asyncio.Task[None] | None = None  # a request the application answers
        self._closing = False
        self._lost = self._loop.create_future()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass
        self._server_state.connections.add(self)  # type: ignore[arg-type]
        if self._ports is None:
            self._hand_over()
            return
        self._idle_since = self._loop.time()
        self._arm_idle_timer()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._idle_since = self._loop.time()
        self._answer_buffered()

    def connection_lost(self, exc: Exception | None) -> None:
        self._server_state.connections.discard(self)
        self._transport = None
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        if not self._lost.done():
            self._lost.set_result(None)

    def pause_writing(self) -> None:
        """The client is not reading its answers: stop reading its questions."""
        if self._transport is not None and self._reading:
            self._reading = False
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None and not self._reading:
            self._reading = True
            self._transport.resume_reading()
            self._answer_buffered()

    # uvicorn's server calls these on its connections

    def shutdown(self) -> None:
        """Graceful shutdown: close now, or once the request being answered is."""
        self._closing = True
        if self._transport is not None and self._routing is None:
            self._transport.close()

    # the front

    def _answer_buffered(self) -> None:
        transport = self._transport
        ports = self._ports
        if transport is None or ports is None:
            return
        while self._buffer and self._reading and self._routing is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    self._hand_over()
                return
            head = _read_head(bytes(self._buffer[:end]))
            if head is None or head.content_length > OCSP_MAX_BODY or not _lean_route(head):
                self._hand_over()
                return
            total = end + 4 + head.content_length
            if len(self._buffer) < total:
                return  # the rest of a small body is on its way
            started = time.perf_counter()
            body = bytes(self._buffer[end + 4 : total])
            del self._buffer[:total]
            answer = self._answer(ports, head, body)
            if answer is None:
                self._route(head, body)
                return
            response, route, status = answer
            transport.writelines(response)
            self._latency(ports, route, head.method, status).observe(time.perf_counter() - started)

    @staticmethod
    def _latency(ports: FrontPorts, route: str, method: bytes, status: int) -> Histogram:
        """The histogram child for one route, method and status, labelled once."""
        key = (route, method, status)
        child = ports.latency_children.get(key)
        if child is None:
            child = ports.metrics.latency.labels(route, method.decode(), str(status))
            ports.latency_children[key] = child
        return child

    def _answer(
        self, ports: FrontPorts, head: _Head, body: bytes
    ) -> tuple[list[bytes], str, int] | None:
        """The response (head and body), its route template and status; None: not kept."""
        method, target = head.method, head.target
        if method == b"POST" and target == b"/ocsp":
            der = ports.kept_ocsp(body) if body else None
            if der is None:
                return None
            return self._response(200, _OCSP_MEDIA, der, head), "/ocsp", 200
        if method != b"GET" or head.content_length:
            return None
        if target == b"/health":
            return self._response(200, _JSON_MEDIA, ports.health, head), "/health", 200
        if target.startswith(b"/ocsp/") and b"?" not in target:
            request = base64url_path(unquote_to_bytes(target[6:]).decode("latin-1"))
            der = ports.kept_ocsp(request) if request else None
            if der is None:
                return None
            return self._response(200, _OCSP_MEDIA, der, head), "/ocsp/{encoded:path}", 200
        if target.startswith(b"/v1/etk?"):
            return self._etk(ports, head)
        return None

    def _etk(self, ports: FrontPorts, head: _Head) -> tuple[list[bytes], str, int] | None:
        identifiers = _etk_identifiers(head.target[8:])
        if identifiers is None:
            return None
        rendered = ports.kept_etk(identifiers)
        if rendered is None:
            return None
        extra = b"etag: " + rendered.etag.encode("ascii") + b"\r\n" + _ETK_HEADERS
        inm = head.if_none_match.decode("latin-1") if head.if_none_match is not None else None
        if etag_matches(inm, rendered.etag):
            return self._response(304, None, b"", head, extra), "/v1/etk", 304
        return self._response(200, _JSON_MEDIA, rendered.body, head, extra), "/v1/etk", 200

    def _response(
        self,
        status: int,
        media_type: bytes | None,
        body: bytes,
        head: _Head,
        extra: bytes = b"",
    ) -> list[bytes]:
        parts = [_STATUS[status]]
        for name, value in self._server_state.default_headers:
            parts += [name, b": ", value, b"\r\n"]
        request_id = sane_request_id(head.request_id).encode("ascii")
        parts += [b"x-request-id: ", request_id, b"\r\n", extra]
        if media_type is not None:
            parts += [b"content-type: ", media_type, b"\r\n"]
        if status != 304:
            parts += [b"content-length: ", str(len(body)).encode("ascii"), b"\r\n"]
        parts.append(b"\r\n")
        return [b"".join(parts), body]  # a large ETK answer is not copied once more

    def _route(self, head: _Head, body: bytes) -> None:
        """Pass one request the front could not answer to the application; reading
        waits until its answer is written (module docstring)."""
        task = self._loop.create_task(self._application_answer(head, body))
        self._routing = task
        self._server_state.tasks.add(task)
        task.add_done_callback(self._server_state.tasks.discard)

    async def _application_answer(self, head: _Head, body: bytes) -> None:
        scope = self._scope(head)
        start: dict[str, Any] = {}
        chunks: list[bytes] = []
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await self._lost
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                _log_access(scope, int(message["status"]))
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))

        try:
            await self._config.loaded_app(scope, receive, send)
            response = self._application_response(start, b"".join(chunks))
        except Exception:
            logger.exception("Exception in ASGI application")
            response = None
        finally:
            self._routing = None
        transport = self._transport
        if transport is None:
            return
        if response is None:
            transport.write(_INTERNAL_ERROR)
            transport.close()
            return
        transport.write(response)
        if self._closing:
            transport.close()
            return
        self._answer_buffered()

    def _application_response(self, start: dict[str, Any], body: bytes) -> bytes:
        status = int(start["status"])
        parts = [b"HTTP/1.1 %d %s\r\n" % (status, HTTPStatus(status).phrase.encode("ascii"))]
        for name, value in self._server_state.default_headers:
            parts += [name, b": ", value, b"\r\n"]
        has_length = False
        for name, value in start.get("headers", []):
            has_length = has_length or name.lower() == b"content-length"
            parts += [bytes(name), b": ", bytes(value), b"\r\n"]
        if not has_length and status != 304 and status >= 200:
            parts += [b"content-length: ", str(len(body)).encode("ascii"), b"\r\n"]
        parts += [b"\r\n", body]
        return b"".join(parts)

    def _scope(self, head: _Head) -> dict[str, Any]:
        """The ASGI scope uvicorn would make for this request (ASGI HTTP spec 2.3)."""
        raw_path, _, query = head.target.partition(b"?")
        transport = self._transport
        server = transport.get_extra_info("sockname") if transport is not None else None
        client = transport.get_extra_info("peername") if transport is not None else None
        return {
            "type": "http",
            "asgi": {"version": self._config.asgi_version, "spec_version": "2.3"},
            "http_version": "1.1",
            "server": tuple(server[:2]) if server else None,
            "client": tuple(client[:2]) if client else None,
            "scheme": "http",
            "method": head.method.decode("ascii"),
            "root_path": self._config.root_path,
            "path": self._config.root_path + unquote_to_bytes(raw_path).decode("latin-1"),
            "raw_path": self._config.root_path.encode("ascii") + raw_path,
            "query_string": query,
            "headers": _fields(head.fields),
            "state": self._app_state.copy(),
        }

    def _hand_over(self) -> None:
        """From here on uvicorn's protocol owns the connection, starting with every byte
        not answered yet (what it does itself to pass a connection to WebSockets)."""
        transport = self._transport
        if transport is None:
            return
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        self._server_state.connections.discard(self)
        self._ports = None
        protocol = HttpToolsProtocol(
            config=self._config,
            server_state=self._server_state,
            app_state=self._app_state,
            _loop=self._loop,
        )
        protocol.connection_made(transport)
        transport.set_protocol(protocol)
        if not self._reading:
            protocol.pause_writing()
        pending, self._buffer = bytes(self._buffer), bytearray()
        if pending:
            protocol.data_received(pending)

    def _arm_idle_timer(self) -> None:
        """Close a connection idle for uvicorn's keep-alive timeout, as uvicorn does; one
        timer per connection, moved on rather than replaced per request."""
        timeout = self._config.timeout_keep_alive

        def check() -> None:
            if self._ports is None or self._transport is None:
                return
            idle = self._loop.time() - self._idle_since
            if idle >= timeout and not self._buffer:
                self._transport.close()
            else:
                self._idle_timer = self._loop.call_later(max(timeout - idle, 0.1), check)

        self._idle_timer = self._loop.call_later(timeout, check)


_REQUEST_HEAD = re.compile(
    rb"(GET|POST) (/[!-~]*) HTTP/1\.1"  # request line (RFC 9112 section 3)
    rb"((?:\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e\x80-\xff]*)*)"  # field lines (5)
)
_REFUSED_FIELDS = re.compile(rb"\r\n(?:transfer-encoding|expect|upgrade):")


class _Unusual(Exception):
    """A head the front leaves to uvicorn."""


def _field(fields: bytes, lowered: bytes, name: bytes) -> bytes | None:
    """The value of field ``name`` (given lower-case, with its leading CRLF and colon),
    None when absent; twice is unusual."""
    at = lowered.find(name)
    if at < 0:
        return None
    if lowered.find(name, at + 1) >= 0:
        raise _Unusual
    start = at + len(name)
    stop = fields.find(b"\r\n", start)
    return fields[start : stop if stop >= 0 else len(fields)].strip(b" \t")


def _read_head(head: bytes) -> _Head | None:
    """The few fields the front needs from a plain HTTP/1.1 request head, or None for
    anything unusual (which uvicorn then reads by its own rules): one pass of a compiled
    pattern over the whole head, then look-ups of the handful of fields that matter."""
    match = _REQUEST_HEAD.fullmatch(head)
    if match is None:
        return None
    method, target, fields = match.groups()
    lowered = fields.lower()
    if _REFUSED_FIELDS.search(lowered):
        return None
    try:
        length = _field(fields, lowered, b"\r\ncontent-length:")
        connection = _field(fields, lowered, b"\r\nconnection:")
        if_none_match = _field(fields, lowered, b"\r\nif-none-match:")
        request_id = _field(fields, lowered, b"\r\nx-request-id:")
    except _Unusual:
        return None
    if length is not None and not (length.isdigit() and len(length) < 10):
        return None
    if connection is not None and connection.lower() != b"keep-alive":
        return None
    return _Head(method, target, int(length or b"0"), if_none_match, request_id, fields)


def _fields(fields: bytes) -> list[tuple[bytes, bytes]]:
    """The field lines as the ASGI scope holds them: lower-case names, trimmed values."""
    pairs = []
    for line in fields.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        pairs.append((name.lower(), value.strip(b" \t")))
    return pairs


def _lean_route(head: _Head) -> bool:
    """Whether the request is for one of the routes the front answers (module doc)."""
    method, target = head.method, head.target
    if method == b"POST":
        return target == b"/ocsp"
    if method != b"GET" or head.content_length:
        return False
    return (
        target == b"/health"
        or (target.startswith(b"/ocsp/") and b"?" not in target)
        or target.startswith(b"/v1/etk?")
    )


@functools.lru_cache(maxsize=1024)
def _etk_identifiers(query: bytes) -> tuple[str, ...] | None:
    """The ``id`` values of a GetEtk query string, or None if it holds anything else.
    Remembered by the query's bytes: relying parties repeat their lookups, and decoding
    50 identifiers costs more than the rest of a kept answer."""
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    identifiers = tuple(value for name, value in pairs if name == "id")
    return identifiers if identifiers and len(identifiers) == len(pairs) else None


def _log_access(scope: dict[str, Any], status: int) -> None:
    """The access line uvicorn writes for a request it answers, in its shape (``api.logs``
    reads its five arguments)."""
    client = scope.get("client")
    address = f"{client[0]}:{client[1]}" if client else "-"
    path = scope["path"] + (
        f"?{scope['query_string'].decode('latin-1')}" if scope["query_string"] else ""
    )
    access_logger.info('%s - "%s %s HTTP/%s" %d', address, scope["method"], path, "1.1", status)

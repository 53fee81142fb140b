"""The hot requests answered before the framework: health, kept OCSP and GetEtk answers.

Relying parties send the same OCSP request and the same ETK lookup over and over, and
the platform keeps their answers (``platform.kept_ocsp``, ``etkdepot.prepared``). Routing
such a request through FastAPI (request object, dependency resolution, response class)
would cost many times what finding the kept answer does, so this pure ASGI middleware
looks first and answers a hit itself, with the bytes and headers the route would send.

It never decides anything: whatever it does not find kept (a first request, a nonce, a
malformed request, an unknown parameter) goes on to the routes unchanged, body included,
so errors, limits and every rule stay where they are written.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ehcert.api.etk import RenderedLookup, etag_matches

OCSP_MAX_BODY = 4096


@dataclass(frozen=True, slots=True)
class LeanRoute:
    """The route template an answer sent here stands for, where a routed request would have
    its ``scope["route"]`` (``api.observability`` reads metrics and logs under it)."""

    path: str


@dataclass(frozen=True, slots=True)
class LeanPorts:
    """The fixed health answer and the two kept-answer look-ups (None: not kept)."""

    health: bytes
    kept_ocsp: Callable[[bytes], bytes | None]
    kept_etk: Callable[[Sequence[str]], RenderedLookup | None]


class LeanPaths:
    def __init__(self, app: ASGIApp, ports: LeanPorts) -> None:
        self.app = app
        self.ports = ports

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if method == "GET" and path == "/health":
            scope["route"] = LeanRoute("/health")
            await _send(send, 200, self.ports.health, b"application/json")
        elif method == "POST" and path == "/ocsp":
            await self._ocsp_post(scope, receive, send)
        elif method == "GET" and path.startswith("/ocsp/"):
            der = base64url_path(path.removeprefix("/ocsp/"))
            answer = self.ports.kept_ocsp(der) if der else None
            if answer is None:
                await self.app(scope, receive, send)
            else:
                scope["route"] = LeanRoute("/ocsp/{encoded:path}")
                await _send(send, 200, answer, b"application/ocsp-response")
        elif method == "GET" and path == "/v1/etk":
            await self._etk(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _ocsp_post(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _header(scope, b"content-length")
        if declared is None or not declared.isdigit() or int(declared) > OCSP_MAX_BODY:
            await self.app(scope, receive, send)  # chunked or large: the route's own rules
            return
        chunks: list[bytes] = []
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        answer = self.ports.kept_ocsp(body) if len(body) <= OCSP_MAX_BODY else None
        if answer is not None:
            scope["route"] = LeanRoute("/ocsp")
            await _send(send, 200, answer, b"application/ocsp-response")
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _etk(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        identifiers = [value for name, value in query if name == "id"]
        if not identifiers or len(identifiers) != len(query):
            await self.app(scope, receive, send)
            return
        rendered = self.ports.kept_etk(identifiers)
        if rendered is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = LeanRoute("/v1/etk")
        headers = [
            (b"etag", rendered.etag.encode("ascii")),
            (b"cache-control", b"public, no-cache"),
            (b"vary", b"Accept"),
        ]
        if_none_match = _header(scope, b"if-none-match")
        if etag_matches(if_none_match.decode("latin-1") if if_none_match else None, rendered.etag):
            await _send(send, 304, b"", None, headers)
        else:
            await _send(send, 200, rendered.body, b"application/json", headers)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return None


def base64url_path(text: str) -> bytes | None:
    """The DER of a GET request path (RFC 6960 appendix A.1), or None if it is not clean
    base64 (the route then answers it by its own rules)."""
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes | None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    response_headers = list(headers or [])
    if content_type is not None:
        response_headers.append((b"content-type", content_type))
    if status != 304:
        response_headers.append((b"content-length", str(len(body)).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})

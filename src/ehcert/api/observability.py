"""Per request: an id, a latency measurement and the refusal counted (pure ASGI middleware).

The request id comes from the client's ``X-Request-Id`` header when it is a sane token
(1 to 128 of ``A-Z a-z 0-9 . _ : -``, so a proxy's or a client's id joins the logs of
both sides), otherwise a fresh random one; it is echoed on the response and held in
:data:`current_request` for the request's lifetime, where the JSON log formatter
(``api.logs``) finds it, for uvicorn's access line too. Latency and refusals go to
:class:`~ehcert.api.metrics.PlatformMetrics` under the route *template*.

Nothing of the request body is read here, and of the response only a problem
document's ``type``: the log and the metrics never see a payload.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ehcert.api.metrics import PlatformMetrics

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_PROBLEM_MEDIA_TYPE = b"application/problem+json"
_MAX_PROBLEM_BYTES = 16_384


@dataclass
class RequestContext:
    """What the log formatter may say about the request being answered."""

    request_id: str
    method: str
    started: float
    scope: Scope = field(repr=False)
    status: int | None = None

    @property
    def route(self) -> str:
        """The matched route's template (``/v1/certificates/{serial}``), or ``unmatched``."""
        route = self.scope.get("route")
        path = getattr(route, "path", None)
        return path if isinstance(path, str) else "unmatched"

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 1)


current_request: ContextVar[RequestContext | None] = ContextVar("current_request", default=None)


def request_id_from(scope: Scope) -> str:
    """The client's request id if it is a sane token, otherwise a new random one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            return sane_request_id(bytes(value))
    return secrets.token_hex(16)


def sane_request_id(value: bytes | None) -> str:
    """``value`` (an ``X-Request-Id`` header) if it is a sane token, else a new random id."""
    if value is not None:
        text = value.decode("latin-1")
        if _REQUEST_ID.fullmatch(text):
            return text
    return secrets.token_hex(16)


def problem_reason(body: bytes) -> str:
    """The last segment of a problem document's ``type`` (``urn:ehcert:problem:KIND``)."""
    try:
        document = json.loads(body)
    except ValueError:
        return "none"
    kind = document.get("type") if isinstance(document, dict) else None
    if not isinstance(kind, str) or not kind:
        return "none"
    reason = re.split(r"[:/#]", kind)[-1]
    return reason if re.fullmatch(r"[a-z0-9-]{1,40}", reason) else "other"


class RequestObservation:
    """Request id, latency histogram and refusal counter around the whole application."""

    def __init__(self, app: ASGIApp, metrics: PlatformMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(
            request_id_from(scope), scope.get("method", "GET"), time.perf_counter(), scope
        )
        token = current_request.set(context)
        problem = bytearray()
        is_problem = False

        async def observed_send(message: Message) -> None:
            nonlocal is_problem
            if message["type"] == "http.response.start":
                context.status = int(message["status"])
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = context.request_id
                media_type = headers.get("content-type", "").encode("latin-1")
                is_problem = media_type.startswith(_PROBLEM_MEDIA_TYPE)
            elif (
                message["type"] == "http.response.body"
                and is_problem
                and len(problem) < _MAX_PROBLEM_BYTES
            ):
                problem.extend(message.get("body", b"")[:_MAX_PROBLEM_BYTES])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            self._record(context, bytes(problem) if is_problem else None)
            current_request.reset(token)

    def _record(self, context: RequestContext, problem: bytes | None) -> None:
        status = context.status if context.status is not None else 500
        route = context.route
        elapsed = time.perf_counter() - context.started
        self.metrics.latency.labels(route, context.method, str(status)).observe(elapsed)
        if status >= 400:
            reason = problem_reason(problem) if problem is not None else "none"
            self.metrics.refusals.labels(route, reason).inc()

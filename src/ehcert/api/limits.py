"""Limits at the edge: the request body size, and the rate of nonces per client.

:class:`BodySizeLimit` is a pure ASGI middleware: a declared ``Content-Length`` over the
limit is refused at once; a chunked body is counted as it streams and cut off when it
passes the limit. The answer is a 413 problem document (RFC 9110 section 15.5.14,
RFC 9457). :class:`TokenBuckets` limits how fast one client may ask for nonces, the one
unauthenticated request that writes to the database (``api.protocol``).

A route that streams a larger body on purpose (the eHealthBox's send, which carries
sealed parts) gets its own limit in ``larger``, by exact path.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    def __init__(self, app: ASGIApp, limit: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.limit)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(send, limit)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = json.dumps(
            {
                "type": "urn:ehcert:problem:payload-too-large",
                "title": "Payload too large",
                "status": 413,
                "detail": f"The request body is larger than the limit of {limit} bytes.",
                "field": None,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


class TokenBuckets:
    """A token bucket per client (peer address): ``rate`` tokens a second, ``burst`` at most.

    Each request takes one token; an empty bucket means "retry in n seconds", which the
    route answers as 429 with ``Retry-After`` (RFC 6585 section 4, RFC 9110 section
    10.2.3). Buckets live in memory, per process, for at most ``max_clients`` peers: the
    least recently seen are forgotten first, so a flood of addresses cannot grow it. Time
    is the monotonic clock, not the platform's clock: a limit is about real seconds.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_clients: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._max_clients = max_clients
        self._monotonic = monotonic
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take a token for ``client``: 0.0 when granted, else the seconds to wait."""
        now = self._monotonic()
        with self._lock:
            tokens, since = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - since) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[client] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
        return wait

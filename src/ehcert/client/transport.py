"""HTTP to one platform: the connection pool, reachability errors and signed POSTs.

:class:`~ehcert.client.platform.PlatformClient` and :class:`~ehcert.client.sts.StsClient`
both talk to the same platform the same way, so both build on :class:`PlatformHttp`:

- the base URL must be an http(s) URL (``TypeError`` / ``ValueError`` otherwise);
- a platform that cannot be reached is an :class:`~ehcert.core.errors.EhcertError` of kind
  ``UNAVAILABLE`` naming the URL, never a bare ``httpx`` exception;
- an error answer is the RFC 9457 problem document the platform sent, raised as the
  platform's own error (:func:`~ehcert.client.answers.problem_to_error`);
- a signed request is a JWS in flattened JSON serialization whose protected header
  carries a fresh nonce, the exact URL and the signer's ``x5c`` chain (RFC 8555 section
  6.2); a ``bad-nonce`` answer is retried once with the nonce from its ``Replay-Nonce``
  header (RFC 8555 section 6.5).

Only ``httpx`` and ``ehcert.core`` / ``ehcert.pki`` / ``ehcert.client`` are used: this
works without the server installed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from ehcert.client.answers import problem_to_error
from ehcert.client.keys import RequestSigner
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.jws import create_jws

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 5
"""Longest ``Retry-After`` a nonce request waits for before it gives up."""
# RFC 7515 section 4.1.9 does not register a media type for flattened JSON; ACME's
# application/jose+json (RFC 8555 section 6.2) is the one servers expect.
JOSE_JSON = "application/jose+json"


class PlatformHttp:
    """One connection pool to one platform; usable as a context manager to close it.

    ``transport`` lets tests and the in-process test server plug in
    ``httpx.ASGITransport`` or ``httpx.WSGITransport``; real use leaves it ``None``.
    ``headers`` are sent with every request.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(base_url, str):
            raise TypeError("base_url must be a string")
        url = httpx.URL(base_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = str(url).rstrip("/")
        self._http = httpx.Client(timeout=timeout, transport=transport, headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, self.base_url + path, **kwargs)
        except httpx.TransportError as exc:
            reason = str(exc).rstrip(".") or type(exc).__name__
            raise EhcertError(
                ErrorKind.UNAVAILABLE,
                f"The platform at {self.base_url} cannot be reached: {reason}.",
            ) from None

    def _nonce_response(self) -> httpx.Response:
        """``GET /v1/nonce``, waiting once as a 429 answer's ``Retry-After`` asks.

        The platform limits nonces per client (RFC 6585 section 4); a client that asks
        in a burst waits the few seconds it is told (at most
        :data:`MAX_RETRY_AFTER_SECONDS`) and tries once more instead of failing.
        """
        response = self._send("GET", "/v1/nonce")
        if response.status_code != 429:
            return response
        wait = response.headers.get("Retry-After", "")
        if not wait.isdigit() or int(wait) > MAX_RETRY_AFTER_SECONDS:
            return response
        time.sleep(int(wait))
        return self._send("GET", "/v1/nonce")

    def _checked(self, response: httpx.Response) -> httpx.Response:
        """``response`` when it is a success, otherwise the platform's error raised."""
        if response.is_success:
            return response
        raise problem_to_error(response, self.base_url)

    def _post_jws(
        self,
        path: str,
        payload: Mapping[str, object],
        signer: RequestSigner,
        fresh_nonce: Callable[[], str],
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST a JWS over ``payload`` and return the successful answer.

        ``fresh_nonce`` gives the first nonce, and the retry's when a ``bad-nonce``
        answer offers none; ``headers`` are added to the ``Content-Type``.
        """
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        url = self.base_url + path
        nonce = fresh_nonce()
        for attempt in range(2):
            jws = create_jws(
                body,
                url=url,
                nonce=nonce,
                chain=list(signer.chain),
                sign=signer.sign,
                alg=signer.alg,
            )
            response = self._send(
                "POST",
                path,
                content=json.dumps(jws).encode("utf-8"),
                headers={"Content-Type": JOSE_JSON, **(headers or {})},
            )
            if response.is_success:
                return response
            error = problem_to_error(response, self.base_url)
            if error.kind is not ErrorKind.BAD_NONCE or attempt == 1:
                raise error
            nonce = response.headers.get("Replay-Nonce") or fresh_nonce()
        raise AssertionError("unreachable")  # pragma: no cover

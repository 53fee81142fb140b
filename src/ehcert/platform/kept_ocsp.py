"""Signed OCSP answers held in memory, so a repeated request costs no signature and no query.

Relying parties ask the same question again and again (the same request bytes: one
certificate, no nonce), and RFC 5019 section 2.2.2 lets a responder answer with a
response it produced before. :class:`RevocationServer` already keeps signed answers in
the store for half their validity; this layer keeps them in the process as well, keyed by
the request's bytes, so the common case is a dictionary lookup. A kept answer is served
only while all of these hold:

- no decision has been committed since it was made (``store.change_signal``). DESIGN.md
  asks that "OCSP and CRL reflect it at once". A revocation recorded by this process
  shows in its very next answer. One recorded by another process shows once the signal
  hears of it: within a millisecond on SQLite, when the NOTIFY arrives on PostgreSQL;
- it is within the first half of its validity (thisUpdate to nextUpdate), as in the store;
- the responder certificate that signed it is still the one in use, with nothing due
  (a renewal or an operator's rotation: ``OcspResponder.unchanged``; the next answer
  made renews or reloads it);
- the clock has not gone back before it was made.

Requests with a nonce (RFC 6960 section 4.4.1) ask for a fresh answer and are never
kept; neither are unsuccessful answers (malformedRequest, unauthorized), which cost no
signature and would let anyone fill the memory with garbage.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509 import ocsp

MAX_KEPT = 20_000
MAX_REQUEST_BYTES = 4096  # one CertID with a few extensions; larger ones are not kept


@dataclass(frozen=True, slots=True)
class _Kept:
    der: bytes
    token: Hashable
    responder: x509.Certificate
    made_at: dt.datetime
    until: dt.datetime


class KeptOcspAnswers:
    """OCSP answers by request bytes, in front of the signing responder."""

    def __init__(
        self,
        answer: Callable[[bytes], bytes],
        changes: Callable[[], Hashable],
        responder: Callable[[dt.datetime], x509.Certificate | None],
        now: Callable[[], dt.datetime],
        max_kept: int = MAX_KEPT,
    ) -> None:
        self._answer = answer
        self._changes = changes
        self._responder = responder
        self._now = now
        self._max = max_kept
        self._kept: OrderedDict[bytes, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def kept(self, request_der: bytes) -> bytes | None:
        """The answer kept for exactly these request bytes, if it still holds; no I/O
        beyond the change token (module docstring)."""
        with self._lock:
            entry = self._kept.get(request_der)
            if entry is None:
                return None
            self._kept.move_to_end(request_der)
        now = self._now()
        if (
            entry.token != self._changes()
            or not entry.made_at <= now < entry.until
            or self._responder(now) is not entry.responder
        ):
            with self._lock:
                if self._kept.get(request_der) is entry:
                    del self._kept[request_der]
            return None
        return entry.der

    def answer(self, request_der: bytes) -> bytes:
        """The kept answer, or a new one from the responder (kept when it may be reused)."""
        hit = self.kept(request_der)
        if hit is not None:
            return hit
        token = self._changes()  # before the answer is made: never newer than its state
        der = self._answer(request_der)
        now = self._now()
        until = _reusable_until(request_der, der)
        responder = self._responder(now)
        if until is not None and now < until and responder is not None:
            entry = _Kept(der, token, responder, now, until)
            with self._lock:
                self._kept[request_der] = entry
                self._kept.move_to_end(request_der)
                while len(self._kept) > self._max:
                    self._kept.popitem(last=False)
        return der

    def __len__(self) -> int:
        return len(self._kept)


def _reusable_until(request_der: bytes, response_der: bytes) -> dt.datetime | None:
    """When a successful answer to a nonce-less, single-certificate request stops being
    reusable (half its validity); None when it must not be kept at all."""
    if len(request_der) > MAX_REQUEST_BYTES:
        return None
    try:
        response = ocsp.load_der_ocsp_response(response_der)
        if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            return None  # the request was odd (malformed, not ours): nothing to keep
        this_update, next_update = response.this_update_utc, response.next_update_utc
        request = ocsp.load_der_ocsp_request(request_der)
        if any(isinstance(e.value, x509.OCSPNonce) for e in request.extensions):
            return None
    except (ValueError, NotImplementedError, x509.DuplicateExtension):
        return None  # what the responder read, this reader may refuse: then keep nothing
    if next_update is None:
        return None
    return this_update + (next_update - this_update) / 2

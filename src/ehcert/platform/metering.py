"""Counting what the platform decides, for ``/metrics`` (``api.metrics``).

The RA's application service and the revocation server are wrapped, at wiring time, in
thin counters: a certificate counts as issued or revoked only once its transaction has
committed (the wrapped call returned), and an OCSP answer is counted by what it says,
read back from the DER the responder produced (RFC 6960 section 4.2.1). Neither the
services nor the edge know about metrics.
"""

from __future__ import annotations

import datetime as dt

from cryptography.x509 import ocsp
from prometheus_client import Counter

from ehcert.api.metrics import PlatformMetrics
from ehcert.api.ra import CertificateOperations
from ehcert.api.revocation import RevocationAnswers
from ehcert.core.errors import EhcertError
from ehcert.core.identity import Identity
from ehcert.platform.kept_ocsp import MAX_KEPT
from ehcert.ra.ports import CertificateFacts

# RFC 6960 section 4.2.1 names of the unsuccessful response statuses.
_RESPONSE_STATUS_NAMES = {
    ocsp.OCSPResponseStatus.MALFORMED_REQUEST: "malformedRequest",
    ocsp.OCSPResponseStatus.INTERNAL_ERROR: "internalError",
    ocsp.OCSPResponseStatus.TRY_LATER: "tryLater",
    ocsp.OCSPResponseStatus.SIG_REQUIRED: "sigRequired",
    ocsp.OCSPResponseStatus.UNAUTHORIZED: "unauthorized",
}


class MeteredCertificates:
    """:class:`~ehcert.api.ra.CertificateOperations` counting issuances and revocations."""

    def __init__(self, inner: CertificateOperations, metrics: PlatformMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def request(
        self,
        identity: Identity,
        csr: bytes,
        institution: str | None,
        app: str | None,
        now: dt.datetime,
    ) -> CertificateFacts:
        facts = self._inner.request(identity, csr, institution, app, now)
        self._metrics.issued.labels("request").inc()
        return facts

    def renew(
        self, identity: Identity, csr: bytes, serial: str, now: dt.datetime
    ) -> CertificateFacts:
        facts = self._inner.renew(identity, csr, serial, now)
        self._metrics.issued.labels("renewal").inc()
        return facts

    def revoke(
        self, identity: Identity, serial: str, reason: str, now: dt.datetime
    ) -> CertificateFacts:
        facts = self._inner.revoke(identity, serial, reason, now)
        self._metrics.revoked.labels(facts.revocation_reason or reason).inc()
        return facts

    def status(self, serial_hex: str) -> CertificateFacts:
        return self._inner.status(serial_hex)

    def renewal_check(
        self, identity: Identity, serial: str, now: dt.datetime
    ) -> tuple[CertificateFacts, EhcertError | None]:
        return self._inner.renewal_check(identity, serial, now)

    def revocable(self, identity: Identity, now: dt.datetime) -> list[CertificateFacts]:
        return self._inner.revocable(identity, now)

    def application_ids(self, identity: Identity, holder: str, now: dt.datetime) -> list[str]:
        return self._inner.application_ids(identity, holder, now)

    def qualities(self, identity: Identity, now: dt.datetime) -> dict[str, object]:
        return self._inner.qualities(identity, now)


def ocsp_answer_status(response_der: bytes) -> str:
    """``good``, ``revoked``, ``unknown``, or the unsuccessful response status' name."""
    try:
        response = ocsp.load_der_ocsp_response(response_der)
    except ValueError:
        return "unparsable"
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return _RESPONSE_STATUS_NAMES.get(response.response_status, "unsuccessful")
    return response.certificate_status.name.lower()


class MeteredRevocation:
    """:class:`~ehcert.api.revocation.RevocationAnswers` counting OCSP answers by status."""

    def __init__(self, inner: RevocationAnswers, metrics: PlatformMetrics) -> None:
        self._inner = inner
        self._metrics = metrics
        # A kept answer is served many times as the same bytes: read its status once.
        self._kept_counters: dict[bytes, Counter] = {}

    def crl(self, name: str) -> bytes:
        return self._inner.crl(name)

    def ocsp(self, request_der: bytes) -> bytes:
        answer = self._inner.ocsp(request_der)
        self._metrics.ocsp.labels(ocsp_answer_status(answer)).inc()
        return answer

    def kept_ocsp(self, request_der: bytes) -> bytes | None:
        answer = self._inner.kept_ocsp(request_der)
        if answer is not None:
            counter = self._kept_counters.get(answer)
            if counter is None:
                if len(self._kept_counters) >= MAX_KEPT:
                    self._kept_counters.clear()
                counter = self._metrics.ocsp.labels(ocsp_answer_status(answer))
                self._kept_counters[answer] = counter
            counter.inc()
        return answer

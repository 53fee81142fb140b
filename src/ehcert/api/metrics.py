"""The platform's Prometheus metrics, exposed at ``GET /metrics`` (text format 0.0.4).

What an operator watches on a certificate authority:

- ``ehcert_certificates_issued_total{kind}``: certificates issued, ``request`` or
  ``renewal``; ``ehcert_certificates_revoked_total{reason}``: revocations by RFC 5280
  reason;
- ``ehcert_refusals_total{route,reason}``: every 4xx/5xx problem document answered, by
  route template and problem type (the last segment of its ``type`` URI, e.g.
  ``unauthorized``, ``bad-nonce``; ``none`` when the answer was not a problem document);
- ``ehcert_ocsp_responses_total{status}``: OCSP answers by certificate status (``good``,
  ``revoked``, ``unknown``) or, for unsuccessful answers, by RFC 6960 section 4.2.1
  response status (``malformedRequest``, ``unauthorized``, ...);
- ``ehcert_http_request_duration_seconds{route,method,status}``: latency per route
  template (``/v1/certificates/{serial}``, never the serial itself, so the number of
  series stays bounded; ``unmatched`` for unknown paths).

Each :class:`PlatformMetrics` owns its registry, so two platforms in one process (tests)
never share counters. Several API processes each expose their own numbers and Prometheus
sums them (``sum by (kind) (rate(ehcert_certificates_issued_total[5m]))``); when one
process runs several workers sharing one port, ``PROMETHEUS_MULTIPROC_DIR`` makes the
client library keep the values in files that :meth:`PlatformMetrics.exposition`
aggregates (prometheus-client's multiprocess mode; docs/operator-guide.md).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

# Seconds; OCSP and status answers take milliseconds, an issuance with lint tens to
# hundreds of milliseconds, anything above ten seconds is an outage.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class PlatformMetrics:
    """The counters and histograms of one platform (see the module docstring)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.issued = Counter(
            "ehcert_certificates_issued",
            "Certificates issued, by kind (request or renewal).",
            ["kind"],
            registry=registry,
        )
        self.revoked = Counter(
            "ehcert_certificates_revoked",
            "Certificates revoked, by RFC 5280 reason.",
            ["reason"],
            registry=registry,
        )
        self.refusals = Counter(
            "ehcert_refusals",
            "Requests answered with a problem document, by route and problem type.",
            ["route", "reason"],
            registry=registry,
        )
        self.ocsp = Counter(
            "ehcert_ocsp_responses",
            "OCSP answers, by certificate status or unsuccessful response status.",
            ["status"],
            registry=registry,
        )
        self.latency = Histogram(
            "ehcert_http_request_duration_seconds",
            "HTTP request latency, by route template, method and status code.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition and its content type; aggregated across workers in
        multiprocess mode."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            aggregated = CollectorRegistry()
            MultiProcessCollector(aggregated)  # type: ignore[no-untyped-call]
            return generate_latest(aggregated), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

"""Operations: request ids on every answer, Prometheus metrics at /metrics.

The metrics of the session's platform add up over the tests, so each test compares the
numbers before and after what it does.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ehcert.api.logs import JsonLogFormatter, uvicorn_log_config
from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.pki.ocsp_status import ocsp_request_for

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors, RunningPlatform

RENEWAL_MOMENT = dt.datetime(2029, 1, 15, 8, 0, 0, tzinfo=dt.UTC)


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``GET /metrics``, by name and sorted labels."""
    answer = httpx.get(f"{url}/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_a_request_id_is_echoed_or_made(env: RunningPlatform) -> None:
    given = httpx.get(f"{env.url}/health", headers={"X-Request-Id": "lb-7f3a.42:9"})
    assert given.headers["X-Request-Id"] == "lb-7f3a.42:9"
    made = httpx.get(f"{env.url}/health")
    other = httpx.get(f"{env.url}/health")
    assert len(made.headers["X-Request-Id"]) == 32
    assert made.headers["X-Request-Id"] != other.headers["X-Request-Id"]
    # An id that could smuggle text into a log line, or is too long, is replaced.
    for unfit in ("two words", "x" * 129, "id\u00e9"):
        answer = httpx.get(f"{env.url}/health", headers={"X-Request-Id": unfit.encode("utf-8")})
        assert answer.headers["X-Request-Id"] != unfit
        assert len(answer.headers["X-Request-Id"]) == 32
    # Refusals carry it too.
    refused = httpx.get(f"{env.url}/v1/certificates/abcdef", headers={"X-Request-Id": "r-1"})
    assert refused.status_code == 404
    assert refused.headers["X-Request-Id"] == "r-1"


def test_metrics_count_issuance_revocation_refusals_and_ocsp(actors: Actors) -> None:
    url = actors.env.url
    before = samples(url)
    actors.add_provider()
    issued = actors.request(actors.eid(), 0)
    actors.env.clock.set(RENEWAL_MOMENT)
    signer = KeyEntryRequestSigner(actors.entry(issued, 0))
    with actors.env.client() as client:
        renewed = client.renew(signer, actors.csr(1), issued.serial)
        client.revoke(signer, issued.serial, "superseded")
    for certificate in (issued.certificate, renewed.certificate):
        answer = httpx.post(
            f"{url}/ocsp",
            content=ocsp_request_for(certificate, issued.chain[0]),
            headers={"Content-Type": "application/ocsp-request"},
        )
        assert answer.status_code == 200
    httpx.post(f"{url}/ocsp", content=b"\x30\x03\x02\x01\x00")  # no OCSP request at all
    assert httpx.get(f"{url}/v1/certificates/abcdef").status_code == 404
    after = samples(url)

    issued_total = "ehcert_certificates_issued_total"
    assert delta(before, after, issued_total, kind="request") == 1
    assert delta(before, after, issued_total, kind="renewal") == 1
    assert delta(before, after, "ehcert_certificates_revoked_total", reason="superseded") == 1
    assert delta(before, after, "ehcert_ocsp_responses_total", status="good") == 1
    assert delta(before, after, "ehcert_ocsp_responses_total", status="revoked") == 1
    assert delta(before, after, "ehcert_ocsp_responses_total", status="malformedRequest") == 1
    refusals = "ehcert_refusals_total"
    route = "/v1/certificates/{serial}"
    assert delta(before, after, refusals, route=route, reason="not-found") == 1
    # Latency per route template, never per serial.
    latency = "ehcert_http_request_duration_seconds_count"
    assert delta(before, after, latency, route=route, method="GET", status="404") == 1
    assert delta(before, after, latency, route="/v1/certificates", method="POST", status="201") == 1
    assert not any("abcdef" in str(labels) for _, labels in after)


def test_unknown_routes_are_counted_under_one_label(env: RunningPlatform) -> None:
    before = samples(env.url)
    for path in ("/nothing-here", "/v9/whatever/else"):
        httpx.get(f"{env.url}{path}")
    after = samples(env.url)
    latency = "ehcert_http_request_duration_seconds_count"
    assert delta(before, after, latency, route="unmatched", method="GET", status="404") == 2


def test_log_lines_are_json_with_the_request_id() -> None:
    """The formatter ``ehcert serve`` gives uvicorn: one JSON object per line."""
    formatter = JsonLogFormatter()
    access = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/health", "1.1", 200), None,
    )  # fmt: skip
    entry = json.loads(formatter.format(access))
    assert entry["message"] == "request"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/health", 200)
    assert entry["level"] == "info"
    try:
        raise ValueError("first line\nsecond line")
    except ValueError:
        import sys

        failure = logging.LogRecord(
            "uvicorn.error", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    line = formatter.format(failure)
    assert "\n" not in line
    assert "second line" in json.loads(line)["exception"]
    query = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/etk?id=SSIN%3D79021802145&id=x&flag", "1.1", 200), None,
    )  # fmt: skip
    assert json.loads(formatter.format(query))["path"] == "/v1/etk?id=*&id=*&flag=*"
    config = uvicorn_log_config("info")
    assert set(config["loggers"]) >= {"uvicorn.access", "uvicorn.error", "ehcert"}

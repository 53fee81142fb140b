"""The connection front (``api.front``) answers kept answers itself and hands every other
request, byte for byte and in order, to uvicorn: over raw sockets, as clients send them."""

from __future__ import annotations

import base64
import logging
import re
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from ehcert.pki.keystore import read_keystore_file

if TYPE_CHECKING:
    from conftest import Actors  # type: ignore[import-not-found]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One kept-alive TCP connection that sends raw bytes and reads whole answers."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        self.pending = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by the server")
        self.pending += data

    def answer(self) -> Answer:
        while b"\r\n\r\n" not in self.pending:
            self._more()
        head, self.pending = self.pending.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            body = self._chunked()
        else:
            length = 0 if status == 304 else int(headers.get("content-length", "0"))
            while len(self.pending) < length:
                self._more()
            body, self.pending = self.pending[:length], self.pending[length:]
        return Answer(status, headers, body)

    def _chunked(self) -> bytes:
        body = b""
        while True:
            while b"\r\n" not in self.pending:
                self._more()
            size_line, self.pending = self.pending.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(self.pending) < size + 2:
                self._more()
            body, self.pending = body + self.pending[:size], self.pending[size + 2 :]
            if size == 0:
                return body

    def close(self) -> None:
        self.sock.close()


def _get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: test", *headers, "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _post_ocsp(body: bytes, *headers: str) -> bytes:
    lines = [
        "POST /ocsp HTTP/1.1",
        "Host: test",
        "Content-Type: application/ocsp-request",
        f"Content-Length: {len(body)}",
        *headers,
        "",
        "",
    ]
    return "\r\n".join(lines).encode("latin-1") + body


def _ocsp_request(actors: Actors) -> tuple[bytes, x509.Certificate]:
    actors.add_provider()
    path = actors.pooled_keystore(actors.eid(), 0, "front-ocsp")
    entry = read_keystore_file(path, actors.password)
    leaf = entry.authentication().certificate
    issuer = entry.authentication().chain[0]
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1()).build()
    return request.public_bytes(serialization.Encoding.DER), leaf


def _health_count(url: str) -> float:
    exposition = httpx.get(f"{url}/metrics").text
    pattern = r'ehcert_http_request_duration_seconds_count\{[^}]*route="/health"[^}]*\} ([\d.e+]+)'
    return sum(float(value) for value in re.findall(pattern, exposition))


def test_pipelined_requests_are_answered_whole_and_in_order_across_the_hand_over(
    actors: Actors,
) -> None:
    connection = Connection(actors.env.url)
    try:
        connection.send(_get("/health") + _get("/v1/nonce") + _get("/health"))
        first, nonce, last = connection.answer(), connection.answer(), connection.answer()
        assert first.status == nonce.status == last.status == 200
        assert first.body == last.body
        assert b'"status":"ok"' in first.body
        assert b'"nonce"' in nonce.body and "replay-nonce" in nonce.headers
        connection.send(_get("/health"))  # the connection lives on, with uvicorn now
        assert connection.answer().body == first.body
    finally:
        connection.close()


def test_a_request_sent_one_byte_at_a_time_is_answered(actors: Actors) -> None:
    request, _ = _ocsp_request(actors)
    kept = httpx.post(f"{actors.env.url}/ocsp", content=request).content  # now kept
    connection = Connection(actors.env.url)
    try:
        for byte in _post_ocsp(request, "X-Request-Id: trace.one-byte"):
            connection.send(bytes([byte]))
        answer = connection.answer()
        assert answer.status == 200
        assert answer.body == kept
        assert answer.headers["content-type"] == "application/ocsp-response"
        assert answer.headers["x-request-id"] == "trace.one-byte"
    finally:
        connection.close()


def test_kept_answers_by_get_and_by_post_are_the_route_s_bytes(actors: Actors) -> None:
    request, _ = _ocsp_request(actors)
    routed = httpx.post(f"{actors.env.url}/ocsp", content=request)
    encoded = quote(base64.b64encode(request).decode(), safe="")
    connection = Connection(actors.env.url)
    try:
        connection.send(_post_ocsp(request) + _get(f"/ocsp/{encoded}"))
        by_post, by_get = connection.answer(), connection.answer()
    finally:
        connection.close()
    assert by_post.body == by_get.body == routed.content
    assert by_post.headers["content-length"] == str(len(routed.content))


def test_a_chunked_body_and_an_ambiguous_length_go_to_uvicorn(actors: Actors) -> None:
    request, _ = _ocsp_request(actors)
    kept = httpx.post(f"{actors.env.url}/ocsp", content=request).content
    chunked = (
        b"POST /ocsp HTTP/1.1\r\nHost: test\r\nContent-Type: application/ocsp-request\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + f"{len(request):x}\r\n".encode()
        + request
        + b"\r\n0\r\n\r\n"
    )
    connection = Connection(actors.env.url)
    try:
        connection.send(chunked)
        answer = connection.answer()
        assert answer.status == 200
        assert ocsp.load_der_ocsp_response(answer.body).serial_number == (
            ocsp.load_der_ocsp_response(kept).serial_number
        )
    finally:
        connection.close()
    # Both lengths (RFC 9112 section 6.3: a request smuggling attempt): the front never
    # answers it; uvicorn's parser refuses it and closes the connection.
    smuggled = _post_ocsp(request, "Transfer-Encoding: chunked") + _get("/health")
    connection = Connection(actors.env.url)
    try:
        connection.send(smuggled)
        answer = connection.answer()
        assert answer.status == 400
    finally:
        connection.close()


def test_unusual_heads_are_left_to_uvicorn(actors: Actors) -> None:
    connection = Connection(actors.env.url)
    try:
        long_header = "X-Padding: " + "p" * 9000
        connection.send(_get("/health", long_header))
        assert connection.answer().status == 200  # handed over, answered by the route
        connection.send(_get("/health", "Connection: close"))
        closing = connection.answer()
        assert closing.status == 200
        assert closing.headers.get("connection") == "close"
    finally:
        connection.close()
    connection = Connection(actors.env.url)
    try:
        connection.send(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Folded: a\r\n b\r\n\r\n")
        assert connection.answer().status == 400  # an obsolete line fold: refused there
    finally:
        connection.close()


def test_an_etk_lookup_is_kept_with_its_etag(actors: Actors) -> None:
    actors.add_provider()
    actors.pooled_keystore(actors.eid(), 1, "front-etk")
    path = f"/v1/etk?id={quote('SSIN=' + actors.doctor)}"
    routed = httpx.get(f"{actors.env.url}{path}")
    assert routed.status_code == 200, routed.text
    connection = Connection(actors.env.url)
    try:
        connection.send(_get(path) + _get(path, f"If-None-Match: {routed.headers['etag']}"))
        full, unchanged = connection.answer(), connection.answer()
    finally:
        connection.close()
    assert full.status == 200 and full.body == routed.content
    assert full.headers["etag"] == routed.headers["etag"]
    assert unchanged.status == 304 and unchanged.body == b""
    assert unchanged.headers["etag"] == routed.headers["etag"]


def test_answers_sent_by_the_front_are_counted_in_the_metrics(actors: Actors) -> None:
    before = _health_count(actors.env.url)
    connection = Connection(actors.env.url)
    try:
        connection.send(_get("/health") * 5)
        for _ in range(5):
            assert connection.answer().status == 200
    finally:
        connection.close()
    assert _health_count(actors.env.url) >= before + 5


class AccessLines(logging.Handler):
    """The paths of uvicorn's access lines while in use (the e2e servers log at warning)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.paths: list[str] = []
        self.logger = logging.getLogger("uvicorn.access")

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            self.paths.append(str(args[2]))

    def __enter__(self) -> AccessLines:
        self.level_before = self.logger.level
        self.logger.setLevel(logging.INFO)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *_: object) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level_before)


def test_a_first_question_goes_to_the_application_and_its_repeat_is_kept(
    actors: Actors,
) -> None:
    request, _ = _ocsp_request(actors)
    nonsense = b"\x30\x03\x02\x01\x01"  # DER, but no OCSPRequest
    connection = Connection(actors.env.url)
    try:
        with AccessLines() as lines:
            connection.send(_post_ocsp(request))
            first = connection.answer()
            connection.send(_post_ocsp(request) + _post_ocsp(nonsense) + _get("/health"))
            again, refused, health = connection.answer(), connection.answer(), connection.answer()
    finally:
        connection.close()
    assert first.status == again.status == health.status == 200
    assert again.body == first.body
    refusal = ocsp.load_der_ocsp_response(refused.body)
    assert refusal.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    # The application answered the first question and the nonsense (their access lines);
    # the front answered the repeat and the health check from memory, on one connection.
    assert lines.paths == ["/ocsp", "/ocsp"]

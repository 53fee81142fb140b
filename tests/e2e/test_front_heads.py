"""What the connection front reads of a request head agrees with uvicorn's parser
(httptools, llhttp) on every head the front accepts: the two never frame a request
differently, so no request can be smuggled past one of them (RFC 9112 section 11.2)."""

from __future__ import annotations

import httptools
from hypothesis import given, settings
from hypothesis import strategies as st

from ehcert.api.front import _read_head

FIELD_NAMES = st.sampled_from(
    [
        "Host",
        "Content-Length",
        "content-length",
        "Transfer-Encoding",
        "Connection",
        "If-None-Match",
        "X-Request-Id",
        "Expect",
        "Content-Type",
        "X-Padding",
        "Content-Length ",
        " Content-Length",
        "Upgrade",
    ]
)
FIELD_VALUES = st.one_of(
    st.sampled_from(["0", "5", "12", "00", "+5", "5 ", " 5", "5,5", "-1", "99999999999",
                     "chunked", "keep-alive", "close", 'W/"x"', "a\tb", "", "identity"]),
    st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=12),
)  # fmt: skip
REQUEST_LINES = st.sampled_from(
    [
        "GET /health HTTP/1.1",
        "POST /ocsp HTTP/1.1",
        "GET /v1/etk?id=SSIN%3D1 HTTP/1.1",
        "GET /health HTTP/1.0",
        "GET  /health HTTP/1.1",
        "GET /health  HTTP/1.1",
        "get /health HTTP/1.1",
        "GET http://x/health HTTP/1.1",
        "POST /ocsp HTTP/1.1 ",
    ]
)


class Parsed:
    def __init__(self) -> None:
        self.url = b""
        self.complete = False
        self.body = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


@settings(max_examples=600, deadline=None)
@given(
    REQUEST_LINES,
    st.lists(st.tuples(FIELD_NAMES, FIELD_VALUES), max_size=5),
    st.binary(max_size=16),
)
def test_an_accepted_head_is_framed_as_uvicorn_frames_it(
    line: str, fields: list[tuple[str, str]], rest: bytes
) -> None:
    text = "\r\n".join([line, *(f"{name}:{value}" for name, value in fields)])
    head = text.encode("latin-1")
    read = _read_head(head)
    if read is None:
        return  # left to uvicorn: nothing to agree on
    parsed = Parsed()
    parser = httptools.HttpRequestParser(parsed)
    # Up to where the front says the request ends (after it: the next request's bytes).
    message = head + b"\r\n\r\n" + rest[: read.content_length]
    parser.feed_data(message)  # llhttp refuses what the front must not accept: raises
    assert parser.get_method() == read.method
    assert parsed.url == read.target
    assert parser.get_http_version() == "1.1"
    assert parser.should_keep_alive()
    assert parsed.complete == (len(rest) >= read.content_length)
    if parsed.complete:
        assert parsed.body == rest[: read.content_length]


def test_the_unusual_is_left_to_uvicorn() -> None:
    for head in (
        b"POST /ocsp HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5",
        b"POST /ocsp HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked",
        b"POST /ocsp HTTP/1.1\r\nContent-Length : 5",
        b"POST /ocsp HTTP/1.1\r\nContent-Length: +5",
        b"GET /health HTTP/1.1\r\nX-A: a\r\n folded",
        b"GET /health HTTP/1.1\r\nConnection: close",
        b"GET /health HTTP/1.1\r\nExpect: 100-continue",
        b"GET /health HTTP/1.0",
        b"GET /health HTTP/1.1\r\nX-Nul: a\x00b",
    ):
        assert _read_head(head) is None, head

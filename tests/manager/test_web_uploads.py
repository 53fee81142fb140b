"""Forms with a file (RFC 7578), as browsers and httpx encode them, read back exactly."""

from __future__ import annotations

import os

import httpx
import pytest

from ehcert.manager.web.uploads import MAX_UPLOAD_BYTES, UploadRefused, parse_multipart


def _encoded(data: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[str, bytes]:
    request = httpx.Request("POST", "http://127.0.0.1/", data=data, files=files)
    return request.headers["content-type"], request.read()


def test_fields_and_a_binary_file_come_back_byte_for_byte() -> None:
    blob = os.urandom(3000) + b"\r\n--\r\n\r\n" + bytes(range(256))
    content_type, body = _encoded(
        {"csrf": "t0ken", "source": "file", "pin": "été 1234"},
        {"eid_file": ("Bryan eID.p12", blob, "application/x-pkcs12")},
    )
    fields, files = parse_multipart(content_type, body)
    assert fields == {"csrf": "t0ken", "source": "file", "pin": "été 1234"}
    assert files["eid_file"].filename == "Bryan eID.p12"
    assert files["eid_file"].data == blob


def test_a_file_input_left_empty_is_no_file() -> None:
    # As chromium sends a file input nobody used: an empty filename and no bytes.
    body = (
        b'--B\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nx\r\n'
        b'--B\r\nContent-Disposition: form-data; name="eid_file"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n--B--\r\n"
    )
    fields, files = parse_multipart("multipart/form-data; boundary=B", body)
    assert fields == {"csrf": "x"} and files == {}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"csrf=x"),
        (
            "multipart/form-data; boundary=b",
            b"--b\r\nContent-Type: text/plain\r\n\r\nno name\r\n--b--\r\n",
        ),
        ("multipart/form-data; boundary=b", b"x" * (MAX_UPLOAD_BYTES + 1)),
    ],
    ids=["not-multipart", "part-without-a-name", "too-large"],
)
def test_what_is_not_a_proper_form_is_refused(content_type: str, body: bytes) -> None:
    with pytest.raises(UploadRefused):
        parse_multipart(content_type, body)

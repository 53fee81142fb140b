"""Fuzz target: the flattened-JSON JWS that signs every authenticated request
(``pki/jws.py``, RFC 7515). Refusals: ``EhcertError`` MALFORMED, UNAUTHORIZED, BAD_KEY or
PAYLOAD_TOO_LARGE.
"""

from __future__ import annotations

from fuzzing import main, refused_clearly

from ehcert.pki.jws import verify_jws

URL = "https://platform.ehcert.test/v1/certificates"


def one_input(data: bytes) -> None:
    with refused_clearly():
        verify_jws(data, expected_url=URL)


if __name__ == "__main__":
    main("jws")

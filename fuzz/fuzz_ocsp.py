"""Fuzz target: OCSP requests (RFC 6960 section 4.1) as POSTed to ``/ocsp`` or sent base64
in the GET path, answered by a real platform's responder on SQLite.

The responder never raises: every request gets a DER OCSPResponse, successful or with an
unsuccessful status (``malformedRequest``, ``unauthorized``, section 2.3). The corpus's
requests carry placeholder issuer hashes (``0xa1``/``0xa2`` bytes); each input is also
sent with them replaced by the platform's own, so mutations reach the answer path.
"""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp
from fuzz_context import ocsp_platform
from fuzzing import main

from ehcert.pki.ocsp_status import cert_id_hashes

_ALGORITHMS = (hashes.SHA1(), hashes.SHA256(), hashes.SHA384(), hashes.SHA512())


@functools.cache
def _replacements() -> tuple[tuple[bytes, bytes], ...]:
    issuing = ocsp_platform().hierarchy.issuing.certificate  # type: ignore[attr-defined]
    pairs = []
    for algorithm in _ALGORITHMS:
        name_hash, key_hash = cert_id_hashes(issuing, algorithm)
        pairs.append((b"\xa1" * algorithm.digest_size, name_hash))
        pairs.append((b"\xa2" * algorithm.digest_size, key_hash))
    return tuple(pairs)


def retargeted(data: bytes) -> bytes:
    for placeholder, real in _replacements():
        data = data.replace(placeholder, real)
    return data


def one_input(data: bytes) -> None:
    platform = ocsp_platform()
    requests = {data, retargeted(data)}
    for request in requests:
        answer = platform.ocsp(request)  # type: ignore[attr-defined]
        response = ocsp.load_der_ocsp_response(answer)
        if response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL:
            assert response.serial_number >= 0


if __name__ == "__main__":
    main("ocsp")

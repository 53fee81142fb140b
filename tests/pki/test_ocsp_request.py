"""The responder's reading of OCSP requests: each flaw the fuzzer found is MALFORMED.

The inputs are the ones that made the responder raise (and the API answer HTTP 500)
before ``pki.ocsp_request`` existed: an MD5 or SHA3 CertID, zero or two entries, two
nonces, a negative or over-long serial.
"""

from __future__ import annotations

import pytest
from asn1crypto import algos
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.ocsp_request import read_ocsp_request

SIZES = {"sha1": 20, "sha256": 32, "md5": 16, "sha3_256": 32}


def request_der(
    digest: str = "sha1", entries: int = 1, nonces: tuple[bytes, ...] = (), serial: int = 4660
) -> bytes:
    size = SIZES[digest]
    cert_id = asn1_ocsp.CertId(
        {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": digest}),
            "issuer_name_hash": b"\x01" * size,
            "issuer_key_hash": b"\x02" * size,
            "serial_number": serial,
        }
    )
    tbs: dict[str, object] = {"request_list": [{"req_cert": cert_id} for _ in range(entries)]}
    if nonces:
        tbs["request_extensions"] = [
            {"extn_id": "nonce", "critical": False, "extn_value": n} for n in nonces
        ]
    return asn1_ocsp.OCSPRequest({"tbs_request": tbs}).dump()


def test_a_plain_request_is_read_completely() -> None:
    query = read_ocsp_request(request_der("sha256", nonces=(b"n" * 16,)))
    assert isinstance(query.hash_algorithm, hashes.SHA256)
    assert query.serial_number == 4660
    assert query.issuer_name_hash == b"\x01" * 32
    assert isinstance(query.nonce, x509.OCSPNonce)
    assert query.nonce.nonce == b"n" * 16


@pytest.mark.parametrize(
    ("der", "words"),
    [
        (request_der("md5"), "SHA-1 or SHA-2"),
        (request_der("sha3_256"), "SHA-1 or SHA-2"),
        (request_der(entries=0), "exactly one"),
        (request_der(entries=2), "exactly one"),
        (request_der(nonces=(b"a" * 8, b"b" * 8)), "duplicated"),
        (request_der(serial=-5), "serial number"),
        (request_der(serial=0), "serial number"),
        (request_der(serial=2**168), "serial number"),
        (b"0\x00", "not DER"),
        (b"", "not DER"),
    ],
)
def test_flawed_requests_are_malformed(der: bytes, words: str) -> None:
    with pytest.raises(EhcertError) as refused:
        read_ocsp_request(der)
    assert refused.value.kind is ErrorKind.MALFORMED
    assert words in refused.value.detail

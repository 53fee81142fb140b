"""OCSP answers carry the platform's time in producedAt as well as in thisUpdate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from ehcert.pki.keystore import read_keystore_file

if TYPE_CHECKING:
    from conftest import Actors  # type: ignore[import-not-found]


def test_produced_at_follows_the_platform_clock(actors: Actors) -> None:
    actors.add_provider()
    path = actors.keystore(actors.eid())
    entry = read_keystore_file(path, actors.password).authentication()
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(entry.certificate, entry.chain[0], hashes.SHA256())
        .build()
    )
    answer = httpx.post(
        f"{actors.env.url}/ocsp",
        content=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    response = ocsp.load_der_ocsp_response(answer.content)
    moment = actors.env.clock.now().replace(microsecond=0)
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.produced_at_utc == moment
    assert response.this_update_utc == moment

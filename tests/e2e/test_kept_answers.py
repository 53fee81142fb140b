"""Answers kept in memory (OCSP, GetEtk) are served until a decision changes them, in this
process or another, and are sent before routing with the bytes the routes would send."""

from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy import event
from tests.conftest import without_faketime

from ehcert.operations import admin_identity
from ehcert.pki.keystore import read_keystore_file

if TYPE_CHECKING:
    from conftest import Actors  # type: ignore[import-not-found]

OCSP_HEADERS = {"Content-Type": "application/ocsp-request"}


def _request(leaf: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _status(der: bytes) -> ocsp.OCSPCertStatus:
    return ocsp.load_der_ocsp_response(der).certificate_status


class Statements:
    """Counts the SQL statements the platform's engine runs."""

    def __init__(self, actors: Actors) -> None:
        self.engine = actors.env.platform.database.engine
        self.count = 0

    def _seen(self, *_: object) -> None:
        self.count += 1

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def test_a_repeated_ocsp_request_is_answered_from_memory_until_a_revocation(
    actors: Actors,
) -> None:
    actors.add_provider()
    path = actors.keystore(actors.eid())
    entry = read_keystore_file(path, actors.password).authentication()
    request = _request(entry.certificate, entry.chain[0])
    url = f"{actors.env.url}/ocsp"
    first = httpx.post(url, content=request, headers=OCSP_HEADERS)
    with Statements(actors) as statements:
        again = httpx.post(url, content=request, headers=OCSP_HEADERS)
        encoded = base64.urlsafe_b64encode(request).decode()
        by_get = httpx.get(f"{url}/{encoded}")
    assert first.status_code == again.status_code == by_get.status_code == 200
    assert again.content == first.content == by_get.content  # the same signed answer
    assert again.headers["content-type"] == "application/ocsp-response"
    assert statements.count == 0
    assert _status(again.content) is ocsp.OCSPCertStatus.GOOD

    serial = format(entry.certificate.serial_number, "x")
    actors.env.platform.ra.revoke(
        admin_identity("test"), serial, "keyCompromise", actors.env.clock.now()
    )
    after = httpx.post(url, content=request, headers=OCSP_HEADERS)
    assert _status(after.content) is ocsp.OCSPCertStatus.REVOKED


def test_a_revocation_by_another_process_shows_in_the_next_answer(actors: Actors) -> None:
    actors.add_provider()
    path = actors.keystore(actors.eid())
    entry = read_keystore_file(path, actors.password).authentication()
    request = _request(entry.certificate, entry.chain[0])
    url = f"{actors.env.url}/ocsp"
    assert _status(httpx.post(url, content=request, headers=OCSP_HEADERS).content) is (
        ocsp.OCSPCertStatus.GOOD
    )
    settings = actors.env.platform.settings
    database = ["--db", settings.db] if settings.db else []
    revoked = subprocess.run(
        ["faketime", "-f", "@2026-03-02 09:30:00", sys.executable, "-m", "ehcert.cli.main",
         "admin", "revoke", "--serial", format(entry.certificate.serial_number, "x"),
         "--reason", "keyCompromise", "--data-dir", str(actors.env.data_dir), *database],
        capture_output=True, text=True, timeout=120, check=False,
        env={**without_faketime(os.environ), "TZ": "UTC"},
    )  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    # The command's clock started at T0 and ran on while it started up: the revocation is
    # a little after T0, so the platform's clock goes past it (a kept answer is still
    # within its reuse window then; only the change signal can drop it).
    actors.env.clock.advance(dt.timedelta(minutes=5))

    def answer() -> ocsp.OCSPCertStatus:
        return _status(httpx.post(url, content=request, headers=OCSP_HEADERS).content)

    if actors.env.backend == "sqlite":
        assert answer() is ocsp.OCSPCertStatus.REVOKED  # the very next answer
        return
    deadline = time.monotonic() + 2  # PostgreSQL: once the notification is in
    while answer() is not ocsp.OCSPCertStatus.REVOKED:
        assert time.monotonic() < deadline, "the revocation never showed"
        time.sleep(0.01)


def test_a_request_with_a_nonce_is_signed_afresh_every_time(actors: Actors) -> None:
    actors.add_provider()
    path = actors.keystore(actors.eid())
    entry = read_keystore_file(path, actors.password).authentication()
    url = f"{actors.env.url}/ocsp"
    kept_before = len(actors.env.platform._kept_ocsp)
    for nonce in (b"a" * 16, b"b" * 16):
        request = _request(entry.certificate, entry.chain[0], nonce)
        answer = ocsp.load_der_ocsp_response(
            httpx.post(url, content=request, headers=OCSP_HEADERS).content
        )
        echoed = answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        assert echoed == nonce
    assert len(actors.env.platform._kept_ocsp) == kept_before  # nothing kept for them


def test_health_is_sent_before_routing_with_the_route_s_bytes(actors: Actors) -> None:
    from ehcert.api.protocol import health_answer

    answer = httpx.get(f"{actors.env.url}/health")
    assert answer.status_code == 200
    assert answer.content == bytes(health_answer("acceptance", "rsa-2048").body)
    assert answer.json()["status"] == "ok"
    assert answer.headers["content-type"] == "application/json"

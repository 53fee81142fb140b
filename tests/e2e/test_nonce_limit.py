"""One client cannot flood the platform with nonce requests (a token bucket per address).

A platform with a small limit (``nonce_burst`` 5, one more a second) runs over real
HTTP; the sixth nonce in a row is refused with 429, a problem document and
``Retry-After``, and no nonce row is written for it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
from sqlalchemy import func, select

from ehcert.client.platform import PlatformClient
from ehcert.core.clock import FixedClock
from ehcert.platform import Platform
from ehcert.settings import Settings
from ehcert.store.models import NonceRow

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def test_a_client_asking_too_many_nonces_gets_429_with_retry_after(
    ca_template: Path,
    tmp_path: Path,
    loopback: tuple[socket.socket, str],
    serve: Callable[[Platform, socket.socket], AbstractContextManager[None]],
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(ca_template, data_dir)
    sock, url = loopback
    settings = Settings(data_dir=data_dir, public_url=url, nonce_burst=5, nonce_rate_per_second=1.0)
    platform = Platform.open(settings, FixedClock(T0), initialise=False)
    try:
        with serve(platform, sock), httpx.Client(base_url=url) as client:
            answers = [client.get("/v1/nonce") for _ in range(8)]
            granted = [a for a in answers if a.status_code == 200]
            refused = [a for a in answers if a.status_code == 429]
            assert len(granted) >= 5
            assert refused, [a.status_code for a in answers]
            first = refused[0]
            assert first.headers["content-type"] == "application/problem+json"
            assert first.json()["type"] == "urn:ehcert:problem:rate-limited"
            assert int(first.headers["Retry-After"]) >= 1
            assert "Replay-Nonce" not in first.headers
            with platform.database.session() as session:
                rows = session.scalar(select(func.count()).select_from(NonceRow))
            assert rows == len(granted)
            time.sleep(int(first.headers["Retry-After"]))
            assert client.get("/v1/nonce").status_code == 200
            statuses = [client.get("/v1/nonce").status_code for _ in range(10)]
            assert 429 in statuses  # drained again
            # The SDK waits as Retry-After says, once, instead of failing at the limit.
            with PlatformClient(url) as sdk:
                nonces = [sdk.nonce() for _ in range(3)]
            assert len(set(nonces)) == 3
    finally:
        platform.database.dispose()

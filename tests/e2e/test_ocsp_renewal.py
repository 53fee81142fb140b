"""The OCSP responder certificate (90 days) renews itself while the platform runs.

The platform here runs on the system clock, moved in process by time-machine: no
restart between the moments. Every answer is checked by ``openssl ocsp`` at the moment
it was made, with the responder certificate checked up to the root and, separately, as
the explicitly trusted responder (``-VAfile``).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp

from ehcert.ca.ceremonies import rotate
from ehcert.core.clock import FixedClock
from ehcert.core.recent import OTHER_PROCESS_DELAY_SECONDS
from ehcert.platform import Platform, ca_directory, key_backend
from ehcert.settings import Settings

from .conftest import T0, Actors, RunningPlatform, ocsp_request, openssl_ocsp_check

Serve = Callable[[Platform, socket.socket], AbstractContextManager[None]]


@dataclass
class MovingPlatform:
    """A platform on the system clock under time-machine, served over HTTP, with one
    certificate issued at T0."""

    platform: Platform
    url: str
    traveller: time_machine.Coordinates
    leaf: x509.Certificate
    directory: Path

    def answer(self) -> bytes:
        response = httpx.post(
            f"{self.url}/ocsp",
            content=ocsp_request(self.leaf, self.issuing),
            headers={"Content-Type": "application/ocsp-request"},
        )
        assert response.status_code == 200
        return response.content

    @property
    def issuing(self) -> x509.Certificate:
        return self.platform.hierarchy.issuing.certificate

    def verified(self, der: bytes, at: dt.datetime, folder: str) -> ocsp.OCSPResponse:
        """``der`` passes openssl both ways at ``at`` and says the leaf is good."""
        root = self.platform.hierarchy.root.certificate
        response = ocsp.load_der_ocsp_response(der)
        (responder,) = response.certificates
        for trusted in (None, responder):
            checked = openssl_ocsp_check(
                self.directory / folder / ("va" if trusted else "ca"),
                der,
                leaf=self.leaf, issuing=self.issuing, root=root, at=at, responder=trusted,
            )  # fmt: skip
            assert checked.returncode == 0, checked.stdout + checked.stderr
            assert "Response verify OK" in checked.stderr
            assert ": good" in checked.stdout
        assert responder.not_valid_before_utc <= at < responder.not_valid_after_utc
        assert response.produced_at_utc == at
        return response


@pytest.fixture
def moving(
    ca_template: Path,
    tmp_path: Path,
    serve: Serve,
    loopback: tuple[socket.socket, str],
    session_rsa_keys: list[rsa.RSAPrivateKey],
) -> Iterator[MovingPlatform]:
    data_dir = tmp_path / "data"
    shutil.copytree(ca_template, data_dir)
    sock, url = loopback
    with time_machine.travel(T0, tick=False) as traveller:
        platform = Platform.open(Settings(data_dir=data_dir, public_url=url), initialise=False)
        try:
            with serve(platform, sock):
                env = RunningPlatform(platform, url, FixedClock(T0), data_dir, "sqlite")
                actors = Actors(env, tmp_path, session_rsa_keys)
                actors.add_provider()
                leaf = actors.request(actors.eid(), 0).certificate
                yield MovingPlatform(platform, url, traveller, leaf, tmp_path)
        finally:
            platform.database.dispose()


def _generations(moving: MovingPlatform) -> dict[str, int]:
    path = moving.platform.hierarchy.directory.path / "generations.json"
    return json.loads(path.read_text()) if path.exists() else {}


def test_answers_verify_at_100_days_without_a_restart(moving: MovingPlatform) -> None:
    first = moving.verified(moving.answer(), T0, "t0")
    (initial,) = first.certificates
    assert initial.not_valid_after_utc == T0 + dt.timedelta(days=90)

    at_60 = T0 + dt.timedelta(days=60)
    moving.traveller.move_to(at_60)
    renewed = moving.verified(moving.answer(), at_60, "t60")
    (responder,) = renewed.certificates
    assert responder != initial
    assert responder.not_valid_before_utc == at_60
    assert _generations(moving) == {"ocsp": 1}

    at_100 = T0 + dt.timedelta(days=100)  # the first responder certificate has expired
    moving.traveller.move_to(at_100)
    later = moving.verified(moving.answer(), at_100, "t100")
    assert later.certificates == [responder]  # 50 days left: not renewed again
    assert moving.platform.hierarchy.ocsp.certificate == responder
    assert _generations(moving) == {"ocsp": 1}


def test_a_start_under_a_clock_set_ahead_is_corrected(moving: MovingPlatform) -> None:
    """Answers made under a clock a year ahead: once the clock is right again, the
    not-yet-valid responder is re-issued and the cached answer "from the future" is not
    served."""
    ahead = T0 + dt.timedelta(days=365)
    moving.traveller.move_to(ahead)
    from_the_future = moving.verified(moving.answer(), ahead, "ahead")
    (future_responder,) = from_the_future.certificates
    assert future_responder.not_valid_before_utc == ahead

    right = T0 + dt.timedelta(days=10)
    moving.traveller.move_to(right)
    corrected = moving.verified(moving.answer(), right, "right")
    (responder,) = corrected.certificates
    assert responder != future_responder
    assert responder.not_valid_before_utc == right
    assert _generations(moving) == {"ocsp": 2}


def test_an_operator_rotation_is_taken_up_and_the_cache_follows(
    moving: MovingPlatform,
) -> None:
    """``ehcert admin ca rotate ocsp`` beside a running platform: its next answer is signed
    by the new responder, although the cached one would still be fresh."""
    cached = moving.answer()
    (before,) = ocsp.load_der_ocsp_response(cached).certificates
    an_hour_later = T0 + dt.timedelta(hours=1)
    moving.traveller.move_to(an_hour_later)
    assert moving.answer() == cached  # within half its validity: served from the cache

    settings = moving.platform.settings
    (rotated,) = rotate(
        ca_directory(settings),
        key_backend(settings),
        "ocsp",
        moving.platform.urls,
        environment="acceptance",
        now=an_hour_later,
    )
    assert rotated.generation == 1
    time.sleep(OTHER_PROCESS_DELAY_SECONDS)  # a change made elsewhere is seen within it
    fresh = moving.verified(moving.answer(), an_hour_later, "rotated")
    assert fresh.certificates == [rotated.certificate] != [before]


def test_two_processes_on_one_data_dir_renew_once(
    moving: MovingPlatform, loopback: tuple[socket.socket, str]
) -> None:
    """A second platform on the same data directory (as a second API process would be)
    takes up the first one's renewal instead of making another key."""
    settings = moving.platform.settings
    second = Platform.open(settings, initialise=False)
    try:
        at_70 = T0 + dt.timedelta(days=70)
        moving.traveller.move_to(at_70)
        request = ocsp_request(moving.leaf, moving.issuing)
        by_first = ocsp.load_der_ocsp_response(moving.platform.ocsp(request))
        by_second = ocsp.load_der_ocsp_response(second.ocsp(request))
        assert by_first.certificates == by_second.certificates
        assert by_first.certificates[0].not_valid_before_utc == at_70
        assert _generations(moving) == {"ocsp": 1}
    finally:
        second.database.dispose()

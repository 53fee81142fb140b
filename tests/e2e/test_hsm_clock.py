"""A CA whose keys live in SoftHSM2, restarted and run with a moved clock.

One initialisation per module (keys on the token, a doctor's certificate issued over
HTTP at :data:`INIT`, the real moment the module starts); every test works on a copy
of that data directory. Copies share the token, so their key generations must step
over each other's labels: that is the collision rule under test.

- Restarts in process at +60 days (when the OCSP responder is renewed on start, which
  once failed with "The token already holds a private key labelled
  'ehcert-acceptance-ocsp'"), +100 days and +3 years.
- A real ``ehcert serve`` process started by Debian's ``faketime`` 100 days ahead.
- A real ``ehcert serve`` process whose clock libfaketime moves from +1 day to +100
  days while it runs (``FAKETIME_TIMESTAMP_FILE``, re-read on every call): its answers
  keep verifying without a restart.

Every OCSP answer is checked by ``openssl ocsp`` at its producedAt, up to the root and
with the responder as ``-VAfile``.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509 import ocsp
from tests.conftest import without_faketime

from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.platform import PlatformClient
from ehcert.core.clock import FixedClock
from ehcert.manager.certificates import request_certificate
from ehcert.operations import issue_test_eid
from ehcert.pki import pkcs11, pkcs11_sessions
from ehcert.pki.keystore import read_keystore_file
from ehcert.platform import Platform
from ehcert.registry.service import RegistryService
from ehcert.settings import Settings

from .conftest import bound_socket, ocsp_request, openssl_ocsp_check

Serve = Callable[[Platform, socket.socket], AbstractContextManager[None]]
INIT = dt.datetime.now(dt.UTC).replace(microsecond=0)
PIN = "ca-pin-5678"
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
EHCERT = [sys.executable, "-m", "ehcert.cli.main"]


@dataclass(frozen=True)
class HsmCa:
    data_dir: Path
    token_label: str
    pin_file: Path
    leaf: x509.Certificate
    issuing: x509.Certificate
    root: x509.Certificate

    def copy(self, target: Path) -> Path:
        shutil.copytree(self.data_dir, target)
        return target

    def settings(self, data_dir: Path, url: str) -> Settings:
        return Settings(
            data_dir=data_dir,
            public_url=url,
            pkcs11_module=pkcs11.SOFTHSM2_MODULE,
            pkcs11_token_label=self.token_label,
            pkcs11_pin_file=self.pin_file,
        )

    def verified(self, der: bytes, folder: Path, near: dt.datetime) -> x509.Certificate:
        """``der`` verifies at its producedAt (within a minute of ``near``); returns its
        responder certificate."""
        response = ocsp.load_der_ocsp_response(der)
        assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
        at = response.produced_at_utc
        assert abs(at - near) < dt.timedelta(minutes=1), (at, near)
        (responder,) = response.certificates
        assert responder.not_valid_before_utc <= at < responder.not_valid_after_utc
        for trusted in (None, responder):
            checked = openssl_ocsp_check(
                folder / ("va" if trusted else "ca"),
                der,
                leaf=self.leaf, issuing=self.issuing, root=self.root, at=at, responder=trusted,
            )  # fmt: skip
            assert checked.returncode == 0, checked.stdout + checked.stderr
            assert "Response verify OK" in checked.stderr
            assert ": good" in checked.stdout
        return responder

    def labels_held(self, *labels: str) -> bool:
        token = pkcs11.Pkcs11Token(pkcs11.SOFTHSM2_MODULE, self.token_label, PIN)
        return all(token.holds_private_key(label) for label in labels)


def _post_ocsp(url: str, ca: HsmCa) -> bytes:
    response = httpx.post(
        f"{url}/ocsp",
        content=ocsp_request(ca.leaf, ca.issuing),
        headers={"Content-Type": "application/ocsp-request"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.content


@pytest.fixture(scope="module")
def hsm_ca(
    softhsm_conf_dir: Path, tmp_path_factory: pytest.TempPathFactory, serve: Serve
) -> Iterator[HsmCa]:
    token_label = f"ehcert-clock-{secrets.token_hex(3)}"
    pkcs11.init_softhsm_token(token_label, "so-pin-1234", PIN, softhsm_conf_dir)
    base = tmp_path_factory.mktemp("hsm-clock")
    pin_file = base / "hsm-pin"
    pin_file.write_text(PIN + "\n")
    data_dir = base / "data"
    sock, url = bound_socket()
    clock = FixedClock(INIT)
    settings = Settings(
        data_dir=data_dir,
        public_url=url,
        pkcs11_module=pkcs11.SOFTHSM2_MODULE,
        pkcs11_token_label=token_label,
        pkcs11_pin_file=pin_file,
    )
    platform = Platform.open(settings, clock)
    try:
        RegistryService(platform.database).add_provider(
            "79021802145", None, "doctor", "Bryan", "Brouckaert", now=INIT
        )
        eid_path = base / "eid.p12"
        issue_test_eid(platform, "79021802145", "1234", out=eid_path)
        with serve(platform, sock), PlatformClient(url) as client:
            keystore = request_certificate(
                client,
                Pkcs12EidCredential.from_file(eid_path, "1234"),
                institution=None,
                application_id=None,
                out_dir=base / "keystores",
                password="correct horse battery staple",
                now=INIT,
            )
        leaf = (
            read_keystore_file(keystore, "correct horse battery staple")
            .authentication()
            .certificate
        )
        hierarchy = platform.hierarchy
        yield HsmCa(
            data_dir,
            token_label,
            pin_file,
            leaf,
            hierarchy.issuing.certificate,
            hierarchy.root.certificate,
        )
    finally:
        platform.database.dispose()
        pkcs11_sessions.close_sessions()


def test_restarts_at_60_days_100_days_and_3_years(
    hsm_ca: HsmCa, tmp_path: Path, serve: Serve
) -> None:
    data_dir = hsm_ca.copy(tmp_path / "data")
    responders = []
    for days in (60, 100, 3 * 365):
        moment = INIT + dt.timedelta(days=days)
        sock, url = bound_socket()
        platform = Platform.open(
            hsm_ca.settings(data_dir, url), FixedClock(moment), initialise=False
        )
        try:
            with serve(platform, sock):
                responder = hsm_ca.verified(_post_ocsp(url, hsm_ca), tmp_path / f"d{days}", moment)
        finally:
            platform.database.dispose()
        responders.append(responder)
    at_60, at_100, at_3_years = responders
    assert at_60.not_valid_before_utc == INIT + dt.timedelta(days=60)  # renewed on start
    assert at_100 == at_60  # 50 days left: kept
    assert at_3_years.not_valid_before_utc == INIT + dt.timedelta(days=3 * 365)
    assert hsm_ca.labels_held("ehcert-acceptance-ocsp", "ehcert-acceptance-ocsp-1")
    assert not list((data_dir / "pki" / "acceptance").glob("*.key"))
    pkcs11_sessions.close_sessions()


def _ahead(delta: dt.timedelta) -> str:
    """A libfaketime offset putting a process ``delta`` ahead of *this* process's clock,
    which may itself be moved (``make test-future``): the machine's own clock is read by a
    ``date`` run without libfaketime."""
    machine = subprocess.run(
        ["date", "+%s.%N"], env=without_faketime(os.environ), capture_output=True, text=True,
        check=True, timeout=10,
    ).stdout  # fmt: skip
    offset = time.time() - float(machine) + delta.total_seconds()
    return f"{offset:+.0f}"


def _wait_until_gone(group: int) -> None:
    """Until no process of ``group`` is left (the server behind the wrapper included)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.killpg(group, signal.SIGKILL)


@contextmanager
def _served_process(
    hsm_ca: HsmCa, data_dir: Path, prefix: list[str], extra_env: dict[str, str]
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``ehcert serve`` on a free port, under ``prefix`` (a faketime command) and env."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = without_faketime(os.environ)
    env.update(
        EHCERT_PKCS11_MODULE=pkcs11.SOFTHSM2_MODULE,
        EHCERT_PKCS11_TOKEN_LABEL=hsm_ca.token_label,
        EHCERT_PKCS11_PIN_FILE=str(hsm_ca.pin_file),
        **extra_env,
    )
    command = [*prefix, *EHCERT, "serve", "--data-dir", str(data_dir), "--port", str(port)]
    command += ["--public-url", url]
    log = data_dir / "serve.log"
    with log.open("wb") as output:
        # A process group of its own: the faketime wrapper does not pass a TERM on to the
        # server it started, so the whole group is stopped.
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/ca/acceptance-root.crt", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield url, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        _wait_until_gone(process.pid)


def test_a_serve_process_started_100_days_ahead_by_faketime(hsm_ca: HsmCa, tmp_path: Path) -> None:
    if shutil.which("faketime") is None:
        pytest.fail("faketime is not installed; run scripts/install-system-deps.sh")
    data_dir = hsm_ca.copy(tmp_path / "data")
    ahead = ["faketime", "-m", "-f", _ahead(dt.timedelta(days=100))]
    with _served_process(hsm_ca, data_dir, ahead, {}) as (url, _):
        der = _post_ocsp(url, hsm_ca)
    near = dt.datetime.now(dt.UTC) + dt.timedelta(days=100)
    responder = hsm_ca.verified(der, tmp_path / "ahead", near)
    assert responder.not_valid_before_utc > INIT + dt.timedelta(days=99)


def test_a_running_serve_process_whose_clock_moves_100_days(hsm_ca: HsmCa, tmp_path: Path) -> None:
    assert LIBFAKETIME.exists(), "faketime is not installed; run scripts/install-system-deps.sh"
    data_dir = hsm_ca.copy(tmp_path / "data")
    timestamp = tmp_path / "faketime"
    timestamp.write_text(_ahead(dt.timedelta(days=1)) + "\n")
    env = {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(timestamp),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
    with _served_process(hsm_ca, data_dir, [], env) as (url, process):
        first = _post_ocsp(url, hsm_ca)
        near = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        responder = hsm_ca.verified(first, tmp_path / "day1", near)
        assert responder.not_valid_before_utc < INIT + dt.timedelta(days=1)  # from init

        timestamp.write_text(_ahead(dt.timedelta(days=100)) + "\n")
        later = _post_ocsp(url, hsm_ca)
        near = dt.datetime.now(dt.UTC) + dt.timedelta(days=100)
        renewed = hsm_ca.verified(later, tmp_path / "day100", near)
        assert process.poll() is None  # the same process, never restarted
    assert renewed != responder
    assert abs(renewed.not_valid_before_utc - near) < dt.timedelta(minutes=1)

"""`ehcert serve --workers 2` on PostgreSQL: two API processes on one port, one truth.

A certificate is requested and revoked through whichever worker the kernel picks; then
every OCSP answer, from either worker, says revoked, although both kept a "good" answer
in memory a moment before (``platform.kept_ocsp``, ``store.change_signal``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from ehcert.pki.keystore import read_keystore_file
from ehcert.store.testing import temporary_postgresql_database

EHCERT = [sys.executable, "-m", "ehcert.cli.main"]
DOCTOR = "79021802145"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EHCERT, *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, int]]:
    data_dir = tmp_path_factory.mktemp("workers")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with temporary_postgresql_database() as db_url:
        log = (data_dir.parent / "workers.log").open("wb")
        process = subprocess.Popen(
            [*EHCERT, "serve", "--data-dir", str(data_dir), "--db", db_url, "--port",
             str(port), "--demo", "--workers", "2"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((data_dir.parent / "workers.log").read_text())
                time.sleep(0.2)
            yield url, data_dir, process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()


def _workers(pid: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return {int(line) for line in found.stdout.split()}


def test_two_workers_serve_and_agree_on_a_revocation_at_once(
    two_workers: tuple[str, Path, int], tmp_path: Path
) -> None:
    url, data_dir, pid = two_workers
    deadline = time.monotonic() + 30
    while len(_workers(pid)) < 2:  # the supervisor starts them one after the other
        assert time.monotonic() < deadline, "serve --workers 2 did not start two workers"
        time.sleep(0.2)
    demo = data_dir / "demo" / DOCTOR
    password = tmp_path / "password"
    password.write_text("a long keystore password\n")
    done = run(
        "cert", "request", "--platform", url, "--eid", str(demo / "eid.p12"),
        "--pin-file", str(demo / "pin.txt"), "--out-dir", str(tmp_path / "keystores"),
        "--password-file", str(password), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    keystore = Path(json.loads(done.stdout)["keystore"])
    entry = read_keystore_file(keystore, "a long keystore password").authentication()
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(entry.certificate, entry.chain[0], hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )

    def statuses(count: int) -> list[ocsp.OCSPCertStatus]:
        answers = []
        for _ in range(count):  # a new connection each: the kernel picks the worker
            with httpx.Client() as client:
                answer = client.post(
                    f"{url}/ocsp",
                    content=request,
                    headers={"Content-Type": "application/ocsp-request"},
                )
            answers.append(ocsp.load_der_ocsp_response(answer.content).certificate_status)
        return answers

    assert set(statuses(10)) == {ocsp.OCSPCertStatus.GOOD}  # kept by both workers now
    revoked = run(
        "cert", "revoke", "--platform", url, "--keystore", str(keystore),
        "--password-file", str(password), "--reason", "keyCompromise", "--json",
    )  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    time.sleep(0.5)  # a NOTIFY travels in milliseconds; allow a loaded machine
    assert set(statuses(10)) == {ocsp.OCSPCertStatus.REVOKED}

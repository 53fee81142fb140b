"""A 50 MB eHealthBox message through a real ``ehcert serve`` process, on SQLite and
PostgreSQL: killed (SIGKILL) in the middle of the send it leaves nothing behind; sent in
full it needs a bounded amount of server memory, far below the message's size.

The server's peak resident memory is read from ``/proc/<pid>/status`` (``VmHWM``) after
resetting it (``/proc/<pid>/clear_refs``, value 5): what the send added on top of the
running server is measured, not the interpreter itself.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from ehcert.client.ehbox import EhboxClient
from ehcert.client.ehbox_messages import PARTS_MEDIA_TYPE, Draft, framed_body
from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.platform import PlatformClient
from ehcert.core.clock import SystemClock
from ehcert.manager.certificates import request_certificate
from ehcert.operations import issue_test_eid
from ehcert.pki.keystore import read_keystore_file
from ehcert.platform import Platform
from ehcert.registry.service import RegistryService
from ehcert.settings import Settings
from ehcert.store.db import Database, sqlite_url
from ehcert.store.models import EhboxChunkRow, EhboxMessageRow, EhboxPartRow
from ehcert.store.testing import example_ssin, temporary_postgresql_database

EHCERT = [sys.executable, "-m", "ehcert.cli.main"]
SENDER = "79021802145"
RECIPIENT = example_ssin(11)
PASSWORD = "correct horse battery staple"
FIFTY_MB = 50 * 1024 * 1024
MEMORY_BOUND = 24 * 1024 * 1024
"""What a 50 MB send may add to the server's peak memory: under half the message."""


@dataclass
class Served:
    data_dir: Path
    db_url: str
    url: str
    process: subprocess.Popen[bytes]


def _vm(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


@contextmanager
def _serve(data_dir: Path, db_url: str, port: int) -> Iterator[Served]:
    url = f"http://127.0.0.1:{port}"
    command = [*EHCERT, "serve", "--data-dir", str(data_dir), "--port", str(port)]
    command += ["--public-url", url, "--db", db_url]
    log = data_dir / f"serve-{secrets.token_hex(3)}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/v1/nonce", timeout=2).status_code in (200, 204):
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield Served(data_dir, db_url, url, process)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
                process.kill()
                process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    data_dir = tmp_path / "data"
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = sqlite_url(data_dir / "ehcert.db")
        else:
            url = stack.enter_context(temporary_postgresql_database())
        # The hierarchy is made on the clock the served platform runs on (the machine's,
        # moved by make test-future), not copied from the session's template made at T0,
        # whose issuing CA a century ahead has expired.
        initialised = subprocess.run(
            [*EHCERT, "admin", "init", "--data-dir", str(data_dir), "--db", url,
             "--key-type", "rsa-2048"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert initialised.returncode == 0, initialised.stderr
        yield data_dir, url


def _keystores(served: Served, folder: Path) -> dict[str, Path]:
    """Two doctors registered, with test eIDs and keystores from the real request flow."""
    now = dt.datetime.now(dt.UTC)
    settings = Settings(data_dir=served.data_dir, db=served.db_url, public_url=served.url)
    platform = Platform.open(settings, SystemClock(), initialise=False)
    try:
        registry = RegistryService(platform.database)
        paths = {}
        for ssin, name in ((SENDER, "Bryan"), (RECIPIENT, "Ada")):
            registry.add_provider(ssin, None, "doctor", name, "Peeters", now=now)
            eid_path = folder / f"eid-{ssin}.p12"
            issue_test_eid(
                platform, ssin, "1234", first_name=name, last_name="Peeters", out=eid_path
            )
            eid = Pkcs12EidCredential.from_file(eid_path, "1234")
            with PlatformClient(served.url) as client:
                paths[ssin] = request_certificate(
                    client,
                    eid,
                    institution=None,
                    application_id=None,
                    out_dir=folder / ssin,
                    password=PASSWORD,
                    now=now,
                )
    finally:
        platform.database.dispose()
    return paths


def _counts(db_url: str) -> tuple[int, int, int]:
    database = Database(db_url)
    try:
        with database.session() as session:
            return tuple(  # type: ignore[return-value]
                int(session.scalar(select(func.count()).select_from(table)) or 0)
                for table in (EhboxMessageRow, EhboxPartRow, EhboxChunkRow)
            )
    finally:
        database.dispose()


def test_a_50_mb_send_is_atomic_across_a_crash_and_streams_in_bounded_memory(
    backend: tuple[Path, str], tmp_path: Path
) -> None:
    data_dir, db_url = backend
    port = _free_port()
    content = os.urandom(FIFTY_MB)
    draft = Draft(recipients=[f"SSIN={RECIPIENT}"], title="Imaging study", content=content,
                  download_file_name="study.bin", mime_type="application/octet-stream")  # fmt: skip

    with _serve(data_dir, db_url, port) as served:
        paths = _keystores(served, tmp_path)
        sender = EhboxClient(served.url, read_keystore_file(paths[SENDER], PASSWORD))
        prepared = sender.prepare(draft)
        assert prepared.publication["parts"][0]["size"] > FIFTY_MB
        path = "/ehbox/v3/messages"
        head = sender._jws(path, prepared.publication)
        killed_after = 0

        def body() -> Iterator[bytes]:
            nonlocal killed_after
            for piece in framed_body(head, prepared.sealed):
                view = memoryview(piece)
                for start in range(0, len(view), 1024 * 1024):
                    yield bytes(view[start : start + 1024 * 1024])
                    killed_after += min(1024 * 1024, len(view) - start)
                    if killed_after >= FIFTY_MB // 2 and served.process.poll() is None:
                        time.sleep(0.5)  # let the server write what it has received
                        served.process.send_signal(signal.SIGKILL)
                        served.process.wait()

        with pytest.raises(httpx.TransportError):
            httpx.post(
                served.url + path,
                content=body(),
                headers={"Content-Type": PARTS_MEDIA_TYPE},
                timeout=60,
            )
        sender.close()
    assert killed_after >= FIFTY_MB // 2
    assert _counts(db_url) == (0, 0, 0)  # nothing of the interrupted send

    with _serve(data_dir, db_url, port) as served:
        with EhboxClient(served.url, read_keystore_file(paths[SENDER], PASSWORD)) as sender:
            sender.box_info()  # token, nonce, connection: warm before measuring
            pid = served.process.pid
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            baseline = _vm(pid, "VmRSS")
            sent = sender.publish(prepared)
            grown = _vm(pid, "VmHWM") - baseline
        assert grown < MEMORY_BOUND, f"the send added {grown} bytes to the server's memory"
        with EhboxClient(served.url, read_keystore_file(paths[RECIPIENT], PASSWORD)) as reader:
            opened = reader.get(sent["message_id"])
        assert opened.part("document").content == content
        assert opened.all_valid
    messages, parts, chunks = _counts(db_url)
    assert (messages, parts) == (1, 1)
    assert chunks > 100  # stored in chunks, not in one value

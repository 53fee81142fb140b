"""eHealthBox throughput and a 50 MB send, over HTTP to a real ``ehcert serve`` process.

Run: .venv/bin/python bench/bench_ehbox.py   (PostgreSQL too when EHCERT_TEST_PG_URL is set)

Per backend (SQLite; PostgreSQL when reachable) it prints:

- send/s: 1 KB messages sealed by the SDK for one recipient and the sender, and sent
  (each send: STS token from the cache, a nonce, one signed streamed POST);
- list/s: pages of the recipient's inbox (``getMessagesList``, 100 per page);
- get/s: full messages fetched and unsealed, each part checked against its digest;
- a 50 MB message: the send's wall time and what it added to the server's peak resident
  memory (``VmHWM`` after ``clear_refs`` 5), which must stay under half the message.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from ehcert.client.ehbox import EhboxClient
from ehcert.client.ehbox_messages import Draft
from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.platform import PlatformClient
from ehcert.core.clock import SystemClock
from ehcert.manager.certificates import request_certificate
from ehcert.operations import issue_test_eid
from ehcert.pki.keystore import read_keystore_file
from ehcert.platform import Platform
from ehcert.registry.service import RegistryService
from ehcert.settings import Settings
from ehcert.store.db import sqlite_url
from ehcert.store.testing import PostgresUnavailable, example_ssin, temporary_postgresql_database

EHCERT = [sys.executable, "-m", "ehcert.cli.main"]
SENDER, RECIPIENT = example_ssin(21), example_ssin(22)
PASSWORD = "correct horse battery staple"
MESSAGES = 200
FIFTY_MB = 50 * 1024 * 1024


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _serve(data_dir: Path, db_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _port()
    url = f"http://127.0.0.1:{port}"
    command = [*EHCERT, "serve", "--data-dir", str(data_dir), "--port", str(port)]
    command += ["--public-url", url, "--db", db_url]
    with (data_dir / "serve.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError((data_dir / "serve.log").read_text())
            try:
                httpx.get(f"{url}/v1/nonce", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _keystores(data_dir: Path, db_url: str, url: str) -> dict[str, Path]:
    now = dt.datetime.now(dt.UTC)
    settings = Settings(data_dir=data_dir, db=db_url, public_url=url)
    platform = Platform.open(settings, SystemClock(), initialise=False)
    paths = {}
    try:
        registry = RegistryService(platform.database)
        for ssin in (SENDER, RECIPIENT):
            registry.add_provider(ssin, None, "doctor", "Bench", "Doctor", now=now)
            eid_path = data_dir / f"eid-{ssin}.p12"
            issue_test_eid(
                platform, ssin, "1234", first_name="Bench", last_name="Doctor", out=eid_path
            )
            eid = Pkcs12EidCredential.from_file(eid_path, "1234")
            with PlatformClient(url) as client:
                paths[ssin] = request_certificate(
                    client, eid, institution=None, application_id=None,
                    out_dir=data_dir / "keystores" / ssin, password=PASSWORD, now=now,
                )  # fmt: skip
    finally:
        platform.database.dispose()
    return paths


def _vm(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:7.1f}/s"


def run(name: str, template: Path, db_url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="ehcert-bench-ehbox-") as folder:
        data_dir = Path(folder) / "data"
        shutil.copytree(template, data_dir)
        secrets = template.with_name(template.name + "-secrets")  # the CA passphrase's place
        if secrets.exists():
            shutil.copytree(secrets, data_dir.with_name(data_dir.name + "-secrets"))
        url_db = db_url or sqlite_url(data_dir / "ehcert.db")
        with _serve(data_dir, url_db) as (url, process):
            paths = _keystores(data_dir, url_db, url)
            sender = EhboxClient(url, read_keystore_file(paths[SENDER], PASSWORD))
            reader = EhboxClient(url, read_keystore_file(paths[RECIPIENT], PASSWORD))
            kilobyte = os.urandom(1024)
            draft = Draft(recipients=[f"SSIN={RECIPIENT}"], title="Bench", content=kilobyte)
            sender.send(draft)
            reader.box_info()
            start = time.perf_counter()
            ids = [sender.send(draft)["message_id"] for _ in range(MESSAGES)]
            sent_in = time.perf_counter() - start
            start = time.perf_counter()
            pages = 0
            for first in range(1, MESSAGES + 1, 100):
                reader.messages("INBOX", start=first, end=first + 99)
                pages += 1
            for _ in range(20):
                reader.messages("INBOX", start=1, end=100)
                pages += 1
            listed_in = time.perf_counter() - start
            start = time.perf_counter()
            for message_id in ids[:50]:
                assert reader.get(message_id).all_valid
            got_in = time.perf_counter() - start

            big = Draft(
                recipients=[f"SSIN={RECIPIENT}"], title="Study", content=os.urandom(FIFTY_MB)
            )
            prepared = sender.prepare(big)
            Path(f"/proc/{process.pid}/clear_refs").write_text("5")
            baseline = _vm(process.pid, "VmRSS")
            start = time.perf_counter()
            sender.publish(prepared)
            big_in = time.perf_counter() - start
            grown = _vm(process.pid, "VmHWM") - baseline
            sender.close()
            reader.close()
        print(
            f"{name:10} send {_rate(MESSAGES, sent_in)}  list {_rate(pages, listed_in)}"
            " (pages of 100)"
            f"  get {_rate(50, got_in)}  |  50 MB send {big_in:5.2f} s, server peak +"
            f"{grown / 2**20:5.1f} MiB"
        )
        if grown > FIFTY_MB // 2:
            raise SystemExit(f"{name}: a 50 MB send added {grown} bytes to the server's memory")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ehcert-bench-ca-") as folder:
        template = Path(folder) / "ca"
        settings = Settings(data_dir=template, public_url="http://127.0.0.1:1")
        Platform.open(settings, SystemClock()).database.dispose()
        for leftover in template.glob("ehcert.db*"):
            leftover.unlink()
        run("sqlite", template, None)
        with ExitStack() as stack:
            try:
                pg_url = stack.enter_context(temporary_postgresql_database())
            except PostgresUnavailable as error:
                print(f"postgresql skipped: {error}")
                return
            run("postgresql", template, pg_url)


if __name__ == "__main__":
    main()

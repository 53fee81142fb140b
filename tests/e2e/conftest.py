"""A real platform over real HTTP, on SQLite and on PostgreSQL.

Each test module gets a platform per database backend, served by uvicorn on a loopback
port in a thread of the test process, so the platform's clock (a :class:`FixedClock`)
can travel while clients speak plain HTTP to it. Tables are emptied between tests.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from ehcert.api.app import create_app
from ehcert.client.platform import PlatformClient
from ehcert.core.clock import FixedClock
from ehcert.platform import Platform
from ehcert.registry.service import RegistryService
from ehcert.settings import Settings
from ehcert.store.testing import reset_tables, temporary_postgresql_database

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


@dataclass
class RunningPlatform:
    platform: Platform
    url: str
    clock: FixedClock
    data_dir: Path
    backend: str

    @property
    def registry(self) -> RegistryService:
        return RegistryService(self.platform.database)

    def client(self) -> PlatformClient:
        return PlatformClient(self.url)


def _serve(platform: Platform, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(create_app(platform), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test platform did not start")
        time.sleep(0.01)
    return server, thread


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def running(
    request: pytest.FixtureRequest,
    ca_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningPlatform]:
    import shutil

    data_dir = tmp_path_factory.mktemp(f"platform-{request.param}")
    shutil.copytree(ca_template, data_dir, dirs_exist_ok=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    clock = FixedClock(T0)

    def start(db_url: str | None) -> Iterator[RunningPlatform]:
        settings = Settings(data_dir=data_dir, db=db_url, public_url=url)
        platform = Platform.open(settings, clock, initialise=False)
        server, thread = _serve(platform, sock)
        try:
            yield RunningPlatform(platform, url, clock, data_dir, request.param)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            platform.database.dispose()

    if request.param == "postgresql":
        with temporary_postgresql_database() as db_url:
            yield from start(db_url)
    else:
        yield from start(None)


@pytest.fixture
def env(running: RunningPlatform) -> RunningPlatform:
    """The module's platform, emptied and with its clock back at T0."""
    reset_tables(running.platform.database)
    running.platform._crl_cache.clear()
    running.clock.set(T0)
    return running

"""A real ``ehcert serve --demo`` process in a folder laid out as a checkout is.

The folder holds ``data`` (the demo's data directory) and ``.venv/bin/ehcert``, so the
README's and the guides' commands and paths work there as written; the port is a free
one of the machine's. Used by the tests that run documentation as written
(test_readme.py, test_integrator_guide.py).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

EHCERT = Path(sys.executable).parent / "ehcert"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Demo:
    folder: Path
    port: int
    printed: str


@contextmanager
def serving_demo(folder: Path) -> Iterator[Demo]:
    """``serve --demo`` in ``folder`` until the block ends; what it printed at start."""
    (folder / ".venv" / "bin").mkdir(parents=True)
    (folder / ".venv" / "bin" / "ehcert").symlink_to(EHCERT)
    port = _free_port()
    log = folder / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(EHCERT), "serve", "--data-dir", "data", "--demo", "--port", str(port)],
            cwd=folder,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).is_success:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, log.read_text()
                time.sleep(0.3)
            else:
                pytest.fail("the demo platform did not start: " + log.read_text())
            yield Demo(folder, port, log.read_text())
        finally:
            server.terminate()
            server.wait(timeout=30)

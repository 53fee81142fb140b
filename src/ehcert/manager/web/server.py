"""Serving the UI on 127.0.0.1: bind, print the secret URL first, open the browser.

The socket is bound before anything is printed, so the URL printed is the one that
works (port 0 picks a free port) and a script can read the first line of stdout to
find it. The browser is opened only after the server accepts connections.
"""

from __future__ import annotations

import socket
import threading
import time
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn

from ehcert.manager.web.app import ManagerSettings
from ehcert.manager.web.routes import create_manager_app

LOOPBACK = "127.0.0.1"


def bind_loopback(port: int) -> socket.socket:
    """A TCP socket bound to 127.0.0.1:``port`` (0: any free port), never another address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    return sock


def ui_url(sock: socket.socket, secret: str) -> str:
    return f"http://{LOOPBACK}:{sock.getsockname()[1]}/s/{secret}/"


def _server(settings: ManagerSettings) -> uvicorn.Server:
    config = uvicorn.Config(
        create_manager_app(settings),
        log_level="warning",
        lifespan="off",
        access_log=False,
        server_header=False,
    )
    return uvicorn.Server(config)


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the Certificate Manager UI did not start")
        time.sleep(0.01)


@contextmanager
def running_ui(settings: ManagerSettings, sock: socket.socket) -> Iterator[str]:
    """Serve the UI in a thread for the block; yields its secret URL (embedding, tests)."""
    server = _server(settings)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_started(server, thread)
        yield ui_url(sock, settings.secret)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def serve_ui(
    settings: ManagerSettings,
    port: int,
    *,
    open_browser: bool,
    announce: Callable[[str], None],
) -> None:
    """Serve until interrupted. ``announce`` receives the URL before anything else."""
    sock = bind_loopback(port)
    url = ui_url(sock, settings.secret)
    announce(url)
    server = _server(settings)
    if open_browser:

        def open_when_ready() -> None:
            deadline = time.monotonic() + 10
            while not server.started and time.monotonic() < deadline:
                time.sleep(0.05)
            webbrowser.open(url)

        threading.Thread(target=open_when_ready, daemon=True).start()
    server.run(sockets=[sock])

"""``ehcert serve``: initialise the data directory on first run and serve the platform.

The listening socket is bound before anything else happens (opening the CA, seeding the
demo), and handed to uvicorn as it is: a busy port is refused at once in one sentence
that names the option to change (exit 1), instead of after the demo has printed lines
to try, and no other process can take the port in between.

``--workers N`` runs N API processes on that one socket (uvicorn's supervisor; the
kernel spreads connections over them). The first process initialises the data directory
and seeds the demo, then the workers each open the platform from the same settings
(``platform.asgi``). The default is 1: CA signatures and pkilint are CPU work that one
process does one at a time, so more processes help on more cores, but SQLite lets only
one writer in at a time and every worker holds its own keys, sessions and caches. On
PostgreSQL, about one worker per core (see docs/operator-guide.md). Kept answers stay
right across workers through the store's change signal (``store.change_signal``). Each
process runs the platform's scheduled jobs (``platform.schedule``: the purge of expired
eHealthBox messages), which are safe to run side by side.

Once serving, uvicorn and the platform log one JSON object per line on stderr, each
with the request id of the request it belongs to (``api.logs``); the start-up lines
before that are for the person at the terminal.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from ehcert.cli.output import reported_errors, stderr_console
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.settings import Environment, Settings, load_settings


def serve(
    data_dir: Annotated[
        Path, typer.Option(envvar="EHCERT_DATA_DIR", help="Data directory (CA, database).")
    ] = Path("data"),
    db: Annotated[str | None, typer.Option(help="SQLAlchemy database URL.")] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    public_url: Annotated[
        str | None, typer.Option(help="Base URL written into certificates.")
    ] = None,
    environment: Annotated[
        Environment | None, typer.Option(help="acceptance or production.")
    ] = None,
    demo: Annotated[bool, typer.Option(help="Seed a demo registry and test eIDs.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="API processes on the one port (default 1)."),
    ] = None,
) -> None:
    """Serve the platform (HTTP API, CRL, OCSP); initialise DIR on first run."""
    import uvicorn

    from ehcert.api.app import create_app
    from ehcert.api.front import LeanFront
    from ehcert.api.logs import uvicorn_log_config
    from ehcert.platform import Platform

    with reported_errors():
        settings = load_settings(
            data_dir=data_dir,
            db=db,
            host=host,
            port=port,
            public_url=public_url,
            environment=environment,
            workers=workers,
        )
        listener = _listen(settings.host, settings.port)
        with stderr_console.status("Opening the platform") as status:
            platform = Platform.open(settings, progress=status.update)
        if demo:
            from ehcert.demo import print_walkthrough, seed_demo

            seeded = seed_demo(platform)
            print_walkthrough(platform, seeded, stderr_console)
        stderr_console.print(
            f"ehcert platform ({settings.environment}) on {settings.base_url} "
            f"- API docs {settings.base_url}/docs"
        )
    if settings.workers == 1:
        config = uvicorn.Config(
            create_app(platform.edge), http=LeanFront, log_config=uvicorn_log_config("info")
        )
        server = uvicorn.Server(config)
        with platform.schedule.running():
            server.run(sockets=[listener])
        return
    from uvicorn.supervisors import Multiprocess

    platform.database.dispose()  # each worker opens its own (platform.asgi)
    os.environ.update(_environment_of(settings))
    config = uvicorn.Config(
        "ehcert.platform.asgi:serving_app",
        factory=True,
        http="ehcert.api.front:LeanFront",
        workers=settings.workers,
        log_config=uvicorn_log_config("info"),
    )
    Multiprocess(config, sockets=[listener]).run()


def _environment_of(settings: Settings) -> dict[str, str]:
    """The settings this command resolved, as the variables a worker reads them from."""
    values = {
        "EHCERT_DATA_DIR": str(settings.data_dir.resolve()),
        "EHCERT_HOST": settings.host,
        "EHCERT_PORT": str(settings.port),
        "EHCERT_PUBLIC_URL": settings.base_url,
        "EHCERT_ENVIRONMENT": settings.environment,
    }
    if settings.db:
        values["EHCERT_DB"] = settings.db
    return values


def _listen(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket on ``host``:``port``, or the one-sentence refusal."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(2048)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"Port {port} on {host} is already in use; choose another with --port "
                "(or EHCERT_PORT).",
                field="port",
            ) from None
        raise EhcertError(
            ErrorKind.UNAVAILABLE,
            f"Cannot listen on {host}:{port}: {error.strerror or error}; choose another "
            "address with --host or --port.",
            field="port",
        ) from None
    return listener

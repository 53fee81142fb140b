"""``ehcert serve``: initialise the data directory on first run and serve the platform."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ehcert.cli.output import reported_errors, stderr_console
from ehcert.settings import Environment, load_settings


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
) -> None:
    """Serve the platform (HTTP API, CRL, OCSP); initialise DIR on first run."""
    import uvicorn

    from ehcert.api.app import create_app
    from ehcert.platform import Platform

    with reported_errors():
        settings = load_settings(
            data_dir=data_dir,
            db=db,
            host=host,
            port=port,
            public_url=public_url,
            environment=environment,
        )
        with stderr_console.status("Opening the platform") as status:
            platform = Platform.open(settings, progress=status.update)
        if demo:
            from ehcert.demo import print_walkthrough, seed_demo

            seeded = seed_demo(platform)
            print_walkthrough(platform, seeded)
        stderr_console.print(
            f"ehcert platform ({settings.environment}) on {settings.base_url} "
            f"- API docs {settings.base_url}/docs"
        )
    uvicorn.run(create_app(platform), host=settings.host, port=settings.port, log_level="info")

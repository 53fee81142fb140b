"""``ehcert manager ui``: the Certificate Manager in the browser, on this computer only.

The first line on stdout is the URL (with its secret), so a launcher script can read it;
everything else goes to stderr. The platform URL comes from ``--platform`` or
``EHCERT_PLATFORM``; without one the UI works offline (list, status from the keystore,
change password) and says that requests need a platform.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ehcert.cli.options import cert_runtime

manager_app = typer.Typer(
    name="manager",
    help="The Certificate Manager's local web interface.",
    no_args_is_help=True,
    add_completion=False,
)

DEFAULT_KEYSTORE_DIR = Path.home() / "ehealth" / "keystore"


def _port(value: int) -> int:
    if not 0 <= value <= 65535:
        raise typer.BadParameter("use a port between 1 and 65535, or 0 for any free port")
    return value


@manager_app.command("ui")
def ui_command(
    ctx: typer.Context,
    *,
    keystore_dir: Annotated[
        Path,
        typer.Option(
            "--keystore-dir",
            metavar="DIR",
            help="Folder with your keystores (created by the first request).",
        ),
    ] = DEFAULT_KEYSTORE_DIR,
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform",
            envvar="EHCERT_PLATFORM",
            metavar="URL",
            help="Platform URL (or EHCERT_PLATFORM); offline without it.",
        ),
    ] = None,
    port: Annotated[
        int,
        typer.Option("--port", callback=_port, help="Port on 127.0.0.1 (0: any free port)."),
    ] = 0,
    eid_pkcs11: Annotated[
        str | None,
        typer.Option(
            "--eid-pkcs11",
            metavar="MODULE",
            help="PKCS#11 module of the eID middleware, when it is not in a standard place "
            "(or EHCERT_EID_PKCS11); found by itself otherwise.",
        ),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Only print the URL; do not open a browser.")
    ] = False,
) -> None:
    """Start the web interface on 127.0.0.1 and open it in your browser."""
    # The web application (Starlette, Jinja2, the catalogs) loads for this command only,
    # not for every start of ``ehcert``.
    from ehcert.manager.web.app import ManagerSettings
    from ehcert.manager.web.security import new_secret
    from ehcert.manager.web.server import serve_ui

    runtime = cert_runtime(ctx)
    settings = ManagerSettings(
        keystore_dir=keystore_dir.expanduser(),
        platform_url=platform,
        secret=new_secret(),
        clock=runtime.clock,
        transport=runtime.transport,
        eid_module=eid_pkcs11,
    )

    def announce(url: str) -> None:
        sys.stdout.write(url + "\n")
        sys.stdout.flush()
        typer.echo(
            "The Certificate Manager runs at the address above; keep it private. "
            "Press Ctrl-C to stop.",
            err=True,
        )

    try:
        serve_ui(settings, port, open_browser=not no_browser, announce=announce)
    except OSError as exc:
        typer.echo(f"Cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}.", err=True)
        raise typer.Exit(1) from None

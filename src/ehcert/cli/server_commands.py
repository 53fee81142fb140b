"""The platform's commands (``serve``, ``admin ...``), present only with the server part.

``pip install ehcert`` installs the client side: the SDK and the Certificate Manager
(``cert``, ``etk``, ``seal``, ``unseal``, ``sts``, ``manager ui``). The platform needs
``pip install 'ehcert[server]'`` (SQLAlchemy, Alembic, psycopg, FastAPI, pydantic,
pkilint). Without it, ``ehcert serve`` and ``ehcert admin ...`` still exist, so that
``--help`` lists them, but each says in one sentence how to install the server part and
exits 1 instead of failing with an import error.
"""

from __future__ import annotations

import typer

SERVER_MODULES = frozenset(
    {"sqlalchemy", "alembic", "psycopg", "fastapi", "pydantic", "pydantic_settings", "pkilint"}
)
INSTALL_HINT = (
    "This is a platform command and the platform is not installed here; "
    "install it with: pip install 'ehcert[server]'."
)


def _missing_server() -> None:
    typer.echo(INSTALL_HINT, err=True)
    raise typer.Exit(1)


ANY_ARGUMENTS = {"allow_extra_args": True, "ignore_unknown_options": True}
ADMIN_HELP = "Operate a platform's data directory."


def add_server_commands(app: typer.Typer) -> None:
    """Attach ``serve`` and the ``admin`` group to ``app``, or stand-ins that take any
    arguments and say what to install.

    Only an import error for one of :data:`SERVER_MODULES` means "not installed"; any
    other import error is a bug and is raised.
    """
    try:
        from ehcert.cli.admin import admin_app
        from ehcert.cli.serve import serve
    except ModuleNotFoundError as missing:
        if (missing.name or "").split(".")[0] not in SERVER_MODULES:
            raise
        app.command("serve", context_settings=ANY_ARGUMENTS)(_serve_stand_in)
        app.command("admin", context_settings=ANY_ARGUMENTS, help=ADMIN_HELP)(_admin_stand_in)
        return
    app.command("serve")(serve)
    app.add_typer(admin_app, name="admin", help=ADMIN_HELP)


def _serve_stand_in(ctx: typer.Context) -> None:
    """Serve the platform (needs the server part: pip install 'ehcert[server]')."""
    del ctx
    _missing_server()


def _admin_stand_in(ctx: typer.Context) -> None:
    """Operate a platform's data directory (needs the server part)."""
    del ctx
    _missing_server()

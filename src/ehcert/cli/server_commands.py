"""The platform's commands (``serve``, ``admin ...``): loaded when asked for, present only
with the server part.

``pip install ehcert`` installs the client side: the SDK and the Certificate Manager
(``cert``, ``etk``, ``seal``, ``unseal``, ``sts``, ``manager ui``). The platform needs
``pip install 'ehcert[server]'`` (SQLAlchemy, Alembic, psycopg, FastAPI, pydantic,
pkilint). The ``ehcert`` group (:class:`EhcertGroup`) imports ``cli.serve`` and
``cli.admin`` only when one of them is run or listed, so a care provider's
``ehcert cert status`` never loads the platform, installed or not. Without the server
part, ``ehcert serve`` and ``ehcert admin ...`` still exist, so that ``--help`` lists
them, but each says in one sentence how to install it and exits 1 instead of failing
with an import error.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

SERVER_MODULES = frozenset(
    {"sqlalchemy", "alembic", "psycopg", "fastapi", "pydantic", "pydantic_settings", "pkilint"}
)
INSTALL_HINT = (
    "This is a platform command and the platform is not installed here; "
    "install it with: pip install 'ehcert[server]'."
)
SERVE_HELP = "Serve the platform (HTTP API, CRL, OCSP)."
ADMIN_HELP = "Operate a platform's data directory."
PLATFORM_COMMANDS = ("serve", "admin")
ANY_ARGUMENTS = {"allow_extra_args": True, "ignore_unknown_options": True}

ClickCommand = Any
ClickContext = Any
"""Click's command and context as Typer hands them over: Typer 0.29 and later carry their
own copy of Click, earlier releases use the ``click`` package, so the names are not
imported from either."""


class EhcertGroup(TyperGroup):
    """The ``ehcert`` command group, whose platform commands are loaded on first use."""

    def list_commands(self, ctx: ClickContext) -> list[str]:
        names = super().list_commands(ctx)
        return [*(name for name in PLATFORM_COMMANDS if name not in names), *names]

    def get_command(self, ctx: ClickContext, cmd_name: str) -> ClickCommand | None:
        if cmd_name in PLATFORM_COMMANDS and cmd_name not in self.commands:
            self.add_command(platform_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)


def platform_command(name: str) -> ClickCommand:
    """``serve`` or ``admin`` as a Click command, or its stand-in without the server part.

    Only an import error for one of :data:`SERVER_MODULES` means "not installed"; any
    other import error is a bug and is raised.
    """
    try:
        if name == "serve":
            from ehcert.cli.serve import serve

            single = typer.Typer(add_completion=False)
            single.command("serve")(serve)
            return typer.main.get_command(single)
        from ehcert.cli.admin import admin_app

        group = typer.main.get_command(admin_app)
        group.name, group.help = "admin", ADMIN_HELP
        return group
    except ModuleNotFoundError as missing:
        if (missing.name or "").split(".")[0] not in SERVER_MODULES:
            raise
        return _stand_in(name)


def _stand_in(name: str) -> ClickCommand:
    """A command that takes any arguments and says what to install (exit 1)."""

    def missing_server(ctx: typer.Context) -> None:
        del ctx
        typer.echo(INSTALL_HINT, err=True)
        raise typer.Exit(1)

    help_text = SERVE_HELP if name == "serve" else ADMIN_HELP
    single = typer.Typer(add_completion=False)
    single.command(
        name,
        context_settings=ANY_ARGUMENTS,
        help=f"{help_text} Needs the server part: pip install 'ehcert[server]'.",
    )(missing_server)
    return typer.main.get_command(single)

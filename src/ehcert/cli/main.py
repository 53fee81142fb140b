"""The one command, ``ehcert``: ``serve``, ``admin ...``, ``cert ...``, ``etk ...``,
``seal``, ``unseal``, ``ehbox ...``.

Exit codes (a contract other tools rely on): 0 done, 1 refused or failed (one sentence
on stderr naming the cause), 2 usage error. ``--json`` prints one JSON object on stdout.
"""

from __future__ import annotations

import typer

from ehcert import __version__
from ehcert.cli.cert import cert_app
from ehcert.cli.ehbox import ehbox_app
from ehcert.cli.etk import etk_app
from ehcert.cli.integrator import integrator_app
from ehcert.cli.manager import manager_app
from ehcert.cli.office import office_app
from ehcert.cli.seal import seal_command, unseal_command
from ehcert.cli.server_commands import EhcertGroup
from ehcert.cli.sts import sts_app
from ehcert.cli.trust_list import trust_app

app = typer.Typer(
    name="ehcert",
    help="eHealth certificates for care providers and institutions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=EhcertGroup,  # serve, admin: the platform's, loaded when asked for
)
app.command("seal")(seal_command)
app.command("unseal")(unseal_command)
app.add_typer(cert_app, name="cert", help="Certificate Manager: request, renew, revoke, status.")
app.add_typer(etk_app, name="etk", help="ETK depot: look up and register encryption tokens.")
app.add_typer(sts_app, name="sts", help="Security token service: SAML session tokens.")
app.add_typer(manager_app, name="manager", help="Certificate Manager web interface.")
app.add_typer(trust_app, name="trust", help="The platform's signed trust list: update, show.")
app.add_typer(ehbox_app, name="ehbox", help="eHealthBox: send, list and read sealed messages.")
app.add_typer(
    office_app, name="office", help="Registration office: identity checks and digital keys."
)
app.add_typer(
    integrator_app,
    name="integrator",
    help="Software integrator (acceptance): enrolment, test identities, test certificates.",
)


@app.command("version")
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


if __name__ == "__main__":  # pragma: no cover
    app()

"""``ehcert admin integrator add|list|secret``: the software companies of the acceptance
environment, registered by CBE number with the reference of their signed request form.

``add`` also makes the company's one-time enrolment secret, and ``secret`` a new one
(a lost integrator key): the integrator trades it for its integrator certificate with
``ehcert integrator enrol`` (``registry.integrators``, ``ra.integrators``). The secret
is shown once, on stdout or written to ``--secret-file`` (mode 0600). A production
data directory has no integrators: every command refuses there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ehcert.cli.admin_options import DataDir, Db, EnvOption, Json, admin_database, now
from ehcert.cli.output import emit_json, exits_on_error, stdout_console
from ehcert.pki.files import write_private_file
from ehcert.settings import load_settings

integrator_admin_app = typer.Typer(
    no_args_is_help=True, help="Software integrators (acceptance only)."
)


def _integrators(data_dir: Path, db: str | None, environment: str | None) -> Any:
    from ehcert.registry.integrators import IntegratorRegistry

    settings = load_settings(data_dir=data_dir, db=db, environment=environment)
    return IntegratorRegistry(admin_database(data_dir, db), settings.environment)


def _as_json(record: Any) -> dict[str, Any]:
    return {
        "cbe": record.cbe,
        "name": record.name,
        "form_reference": record.form_reference,
        "registered_at": record.registered_at.isoformat(),
        "enrolled": record.certificate_serial is not None,
        "certificate_serial": record.certificate_serial,
    }


SecretFile = Annotated[
    Path | None,
    typer.Option(
        "--secret-file",
        help="Write the one-time enrolment secret to this file (0600) instead of stdout.",
    ),
]


def _hand_over(secret: Any, secret_file: Path | None) -> dict[str, Any]:
    """Where the secret went, for the answer; written to the file when one is named."""
    answer: dict[str, Any] = {"enrolment_expires_at": secret.expires_at.isoformat()}
    if secret_file is None:
        answer["enrolment_secret"] = secret.secret
    else:
        write_private_file(secret_file, (secret.secret + "\n").encode())
        answer["enrolment_secret_file"] = str(secret_file)
    return answer


def _say_secret(answer: dict[str, Any]) -> None:
    where = answer.get("enrolment_secret_file") or answer.get("enrolment_secret")
    stdout_console.print(
        f"One-time enrolment secret (valid until {answer['enrolment_expires_at']}, for "
        f"'ehcert integrator enrol'): {where}",
        markup=False,
    )


@integrator_admin_app.command("add")
@exits_on_error
def integrator_add(
    cbe: Annotated[str, typer.Option(help="The company's CBE number, e.g. 0123.456.749.")],
    name: Annotated[str, typer.Option(help="The company's name.")],
    form_reference: Annotated[
        str, typer.Option(help="Reference of the request form the company signed.")
    ],
    secret_file: SecretFile = None,
    data_dir: DataDir = Path("data"),
    db: Db = None,
    environment: EnvOption = None,
    json_output: Json = False,
) -> None:
    """Register a software integrator and make its enrolment secret (acceptance only)."""
    integrators = _integrators(data_dir, db, environment)
    moment = now()
    record = integrators.add(cbe, name, form_reference, now=moment)
    answer = _hand_over(integrators.new_enrolment_secret(record.cbe, now=moment), secret_file)
    if json_output:
        emit_json({**_as_json(record), **answer})
        return
    stdout_console.print(
        f"Registered integrator CBE {record.cbe} ({record.name}), request form "
        f"{record.form_reference}.",
        markup=False,
    )
    _say_secret(answer)


@integrator_admin_app.command("secret")
@exits_on_error
def integrator_secret(
    cbe: Annotated[str, typer.Argument(help="The integrator's CBE number.")],
    secret_file: SecretFile = None,
    data_dir: DataDir = Path("data"),
    db: Db = None,
    environment: EnvOption = None,
    json_output: Json = False,
) -> None:
    """A new one-time enrolment secret (a lost integrator key); it replaces the old one."""
    secret = _integrators(data_dir, db, environment).new_enrolment_secret(cbe, now=now())
    answer = {"cbe": secret.cbe, **_hand_over(secret, secret_file)}
    if json_output:
        emit_json(answer)
        return
    _say_secret(answer)


@integrator_admin_app.command("list")
@exits_on_error
def integrator_list(
    data_dir: DataDir = Path("data"),
    db: Db = None,
    environment: EnvOption = None,
    json_output: Json = False,
) -> None:
    """List the software integrators."""
    integrators = _integrators(data_dir, db, environment).integrators()
    if json_output:
        emit_json({"integrators": [_as_json(record) for record in integrators]})
        return
    for record in integrators:
        stdout_console.print(f"{record.cbe}\t{record.form_reference}\t{record.name}", markup=False)

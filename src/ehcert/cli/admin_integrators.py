"""``ehcert admin integrator add|list``: the software companies of the acceptance
environment, registered by CBE number with the reference of their signed request form.

A production data directory has no integrators: both commands refuse there
(``registry.integrators``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ehcert.cli.admin_options import DataDir, Db, EnvOption, Json, admin_database, now
from ehcert.cli.output import emit_json, exits_on_error, stdout_console
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
    }


@integrator_admin_app.command("add")
@exits_on_error
def integrator_add(
    cbe: Annotated[str, typer.Option(help="The company's CBE number, e.g. 0123.456.749.")],
    name: Annotated[str, typer.Option(help="The company's name.")],
    form_reference: Annotated[
        str, typer.Option(help="Reference of the request form the company signed.")
    ],
    data_dir: DataDir = Path("data"),
    db: Db = None,
    environment: EnvOption = None,
    json_output: Json = False,
) -> None:
    """Register a software integrator (acceptance only)."""
    record = _integrators(data_dir, db, environment).add(cbe, name, form_reference, now=now())
    if json_output:
        emit_json(_as_json(record))
        return
    stdout_console.print(
        f"Registered integrator CBE {record.cbe} ({record.name}), request form "
        f"{record.form_reference}.",
        markup=False,
    )


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

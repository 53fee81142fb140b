"""``ehcert admin office add|list`` and ``ehcert admin officer add|end``: the
registration offices of the hybrid method and their officers' accounts.

An officer account lets that person's own eHealth certificate (requested with their
eID like any other) act for the office: ``ehcert office register`` and
``ehcert office revoke-key`` (docs/foreign-providers.md).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from ehcert.cli.admin_options import DataDir, Db, Json
from ehcert.cli.folders import require_platform_folder
from ehcert.cli.output import emit_json, exits_on_error, stdout_console
from ehcert.settings import load_settings

office_admin_app = typer.Typer(no_args_is_help=True, help="Registration offices (hybrid method).")
officer_admin_app = typer.Typer(no_args_is_help=True, help="Officers of registration offices.")


def _offices(data_dir: Path, db: str | None) -> Any:
    from ehcert.registry.offices import OfficeRegistry
    from ehcert.store.db import Database

    require_platform_folder(data_dir, db)
    database = Database(load_settings(data_dir=data_dir, db=db).database_url)
    database.migrate()
    return OfficeRegistry(database)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _done(result: dict[str, Any], json_output: bool, message: str) -> None:
    if json_output:
        emit_json(result)
    else:
        stdout_console.print(message, markup=False)


@office_admin_app.command("add")
@exits_on_error
def office_add(
    code: Annotated[str, typer.Option(help="Short code, e.g. IXELLES or EHEALTH-BRUSSELS.")],
    name: Annotated[str, typer.Option(help="Its name, e.g. 'Commune d'Ixelles'.")],
    kind: Annotated[str, typer.Option(help="municipality or ehealth-desk.")] = "municipality",
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """Add a registration office."""
    record = _offices(data_dir, db).add_office(code, name, kind, now=_now())
    _done(
        {"code": record.code, "name": record.name, "kind": record.kind},
        json_output,
        f"Added registration office {record.code} ({record.name}).",
    )


@office_admin_app.command("list")
@exits_on_error
def office_list(data_dir: DataDir = Path("data"), db: Db = None, json_output: Json = False) -> None:
    """List the registration offices."""
    offices = _offices(data_dir, db).offices()
    if json_output:
        emit_json({"offices": [{"code": o.code, "name": o.name, "kind": o.kind} for o in offices]})
        return
    for office in offices:
        stdout_console.print(f"{office.code}\t{office.kind}\t{office.name}", markup=False)


@officer_admin_app.command("add")
@exits_on_error
def officer_add(
    ssin: Annotated[str, typer.Option(help="The officer's SSIN.")],
    first_name: Annotated[str, typer.Option()],
    last_name: Annotated[str, typer.Option()],
    office: Annotated[str, typer.Option(help="Code of the officer's office.")],
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """Give a person an officer account at a registration office."""
    record = _offices(data_dir, db).add_officer(ssin, first_name, last_name, office, now=_now())
    _done(
        {"ssin": record.ssin, "office": record.office_code},
        json_output,
        f"SSIN {record.ssin} is an officer of {record.office_code}; their own eHealth "
        "certificate now acts for the office.",
    )


@officer_admin_app.command("end")
@exits_on_error
def officer_end(
    ssin: Annotated[str, typer.Option(help="The officer's SSIN.")],
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """End an officer account."""
    record = _offices(data_dir, db).end_officer(ssin, now=_now())
    _done(
        {"ssin": record.ssin, "ended_at": record.ended_at},
        json_output,
        f"The officer account of SSIN {record.ssin} is ended.",
    )
